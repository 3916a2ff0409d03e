#pragma once
#include <napi.h>

namespace cr::napi {
Napi::Value MapFile(const Napi::CallbackInfo& info);
}
