// The native op table: every op crossroad exposes, by the name TypeScript
// calls it with. An op reads its OpCall, checks it, and runs kernels.
#pragma once
#include <string>

#include "op_call.h"

namespace cr {

using OpFn = void (*)(const OpCall& call);

struct OpEntry {
  const char* name;
  OpFn run;
};

const OpEntry* findOp(const std::string& name);
// All registered ops, terminated by an entry with a null name.
const OpEntry* allOps();

}  // namespace cr
