// elementwise: y = program(in0, in1, ...), each input repeating with its own
// period. The program arrives from TypeScript already compiled; it is checked
// here once more (opcodes, operand indices, stack depth) because the kernel
// trusts it.
#include <string>

#include "../cpu/kernels.h"
#include "op_args.h"
#include "ops.h"

namespace cr {

cpu::ElementwiseArgs elementwiseArgs(const OpCall& call, const int32_t* hostProgram) {
  const TensorView& y = call.tensor("y");
  const TensorView& program = call.tensor("program");
  const TensorView& constants = call.tensor("constants");
  expectDType(call, "y", y, {DType::F32});
  expectDType(call, "program", program, {DType::I32});
  expectDType(call, "constants", constants, {DType::F32});
  cpu::ElementwiseArgs g;
  g.n = y.size();
  g.out = y.as<float>();
  for (int i = 0; i < cpu::kMaxEwInputs; ++i) {
    const std::string name = "in" + std::to_string(i);
    const TensorView* t = call.find(name.c_str());
    if (t == nullptr) break;
    expectDType(call, name.c_str(), *t, {DType::F32});
    const int64_t period = t->size();
    if (period < 1 || g.n % period != 0) {
      throwRange(call.op(), ": ", name, " has ", period, " elements, which does not divide the output's ", g.n);
    }
    g.inputs[i] = t->as<float>();
    g.periods[i] = period;
    g.numInputs = i + 1;
  }
  if (program.size() % 2 != 0 || program.size() == 0) throwRange(call.op(), ": program must hold (opcode, argument) pairs");
  g.program = program.as<int32_t>();
  if (program.size() / 2 > (1 << 20)) throwRange(call.op(), ": program is too long (", program.size() / 2, " instructions)");
  g.numInstructions = static_cast<int>(program.size() / 2);
  g.constants = constants.as<float>();
  int depth = 0;
  for (int pc = 0; pc < g.numInstructions; ++pc) {
    const int32_t op = hostProgram[2 * pc], arg = hostProgram[2 * pc + 1];
    const auto code = static_cast<cpu::EwOp>(op);
    if (code == cpu::EwOp::Input) {
      if (arg < 0 || arg >= g.numInputs) throwRange(call.op(), ": program reads input ", arg, " of ", g.numInputs);
      ++depth;
    } else if (code == cpu::EwOp::Const) {
      if (arg < 0 || arg >= constants.size()) throwRange(call.op(), ": program reads constant ", arg, " of ", constants.size());
      ++depth;
    } else if (code == cpu::EwOp::Add || code == cpu::EwOp::Sub || code == cpu::EwOp::Mul || code == cpu::EwOp::Div ||
               code == cpu::EwOp::Min || code == cpu::EwOp::Max) {
      if (depth < 2) throwRange(call.op(), ": program stack underflow at instruction ", pc);
      --depth;
    } else if (op >= static_cast<int32_t>(cpu::EwOp::Neg) && op <= static_cast<int32_t>(cpu::EwOp::Sin)) {
      if (depth < 1) throwRange(call.op(), ": program stack underflow at instruction ", pc);
    } else {
      throwRange(call.op(), ": unknown opcode ", op, " at instruction ", pc);
    }
    if (depth > cpu::kMaxEwStack) throwRange(call.op(), ": program needs more than ", cpu::kMaxEwStack, " stack slots");
  }
  if (depth != 1) throwRange(call.op(), ": program leaves ", depth, " values on the stack, not 1");
  return g;
}

void runElementwise(const OpCall& call) {
  cpu::kernels().elementwise(elementwiseArgs(call, call.tensor("program").as<int32_t>()));
}

}  // namespace cr
