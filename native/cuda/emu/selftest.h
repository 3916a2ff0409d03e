// The emulator's self-tests (selftest.cu): runs the named test kernel; returns "ok" or the
// test's result as text, throws cr::Error for what the emulator (or a launch check) rejects.
#pragma once
#include <string>

namespace cr::emu {
std::string selfTest(const std::string& name);
}
