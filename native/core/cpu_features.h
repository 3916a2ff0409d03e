// Which instruction sets this CPU and OS support, and which kernel set we use.
#pragma once
#include <string>
#include <vector>

namespace cr {

enum class Isa : int { Scalar = 0, Avx2 = 1, Avx512 = 2 };

const char* isaName(Isa isa);
bool parseIsa(const std::string& name, Isa* out);

// Instruction sets both compiled into this build and supported by this machine.
std::vector<Isa> availableIsas();
// The best available set, unless CROSSROAD_ISA names another (an unsupported
// name or an unavailable set is an error reported at load time).
Isa detectIsa(std::string* error);

// Hardware facts used to size the thread pool.
int physicalCoreCount();
int logicalCpuCount();

}  // namespace cr
