// Turns the JS side's call (op name, named tensors, named options) into an
// OpCall over the callers' own memory: typed arrays are used in place.
#pragma once
#include <napi.h>

#include <vector>

#include "../ops/op_call.h"

namespace cr::napi {

// Reads `tensors` ({ name: { data, shape, dtype } }) and `attrs` ({ name: number|boolean|string }).
// When `keepAlive` is given, a reference to every typed array is appended so
// the memory outlives an asynchronous run.
OpCall marshalCall(Napi::Env env, const std::string& op, Napi::Object tensors, Napi::Value attrs,
                   std::vector<Napi::ObjectReference>* keepAlive);

// Throws the JS error matching an exception caught from native code.
[[noreturn]] void rethrowAsJs(Napi::Env env, const std::string& op);
Napi::Error toJsError(Napi::Env env, ErrorKind kind, const std::string& message);

}  // namespace cr::napi
