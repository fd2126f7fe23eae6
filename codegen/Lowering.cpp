//===- codegen/Lowering.cpp - The lowering table, generated from Ops.def --===//
#include "codegen/Lowering.h"

#include <iterator>

namespace gradc::codegen {

LowerFn loweringFor(ir::OpKind op) {
  static constexpr LowerFn table[] = {
#define OP(Enum, Name, NumInputs, Class, Flags) &lower##Enum,
#include "ir/Ops.def"
  };
  static_assert(std::size(table) == ir::kNumOps, "one lowering per op");
  return table[static_cast<size_t>(op)];
}

} // namespace gradc::codegen
