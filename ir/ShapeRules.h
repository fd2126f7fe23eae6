//===- ir/ShapeRules.h - Per-op shape rules and shape helpers ----*- C++ -*-===//
//
// One shape rule per op, declared from Ops.def (shapeRule<Enum>), plus the
// helpers that several rules and passes share: numpy broadcasting and axis
// normalization.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

namespace gradc::ir {

#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  llvm::Expected<llvm::SmallVector<TensorType, 1>> shapeRule##Enum(const Node &);
#include "ir/Ops.def"

/// Numpy broadcasting of two shapes. kBatch broadcasts with 1 and itself only.
llvm::Expected<Shape> broadcastShapes(const Shape &a, const Shape &b);

/// Normalizes `axis` (negative counts from the end) for a tensor of `rank`.
llvm::Expected<int64_t> normalizeAxis(int64_t axis, int64_t rank);

/// Normalizes, sorts and de-duplicates reduction axes; empty means all axes.
llvm::Expected<std::vector<int64_t>> normalizeAxes(const std::vector<int64_t> &axes,
                                                   int64_t rank);

/// The shape after reducing `axes` (normalized) of `in`.
Shape reducedShape(const Shape &in, const std::vector<int64_t> &axes, bool keepdims);

/// An error for a shape rule to return (the caller prefixes the node).
llvm::Error shapeRuleError(const llvm::Twine &msg);
/// Errors unless input `i` of `n` is f32.
llvm::Error expectF32Input(const Node &n, unsigned i);
/// The trailing shape a layer norm node (the layer_norm layer, the
/// layer_norm_rows ops) normalizes over, its weight's and bias's shape,
/// after checking input 0 (f32, no N among those axes) and the `dims` and
/// `eps` attributes.
llvm::Expected<Shape> layerNormRowShape(const Node &n);
/// Errors unless `v` has type `t`: "<what> %v must be <t>, got <its type>".
llvm::Error expectValueType(const Value *v, const TensorType &t, const char *what);
/// Checks the operands of a classification loss: input 0 f32[..., C]
/// (`what`: "logits", "log-probabilities"), input 1 i32 labels of its shape
/// without the class axis.
llvm::Error checkClassOperands(const Node &n, llvm::StringRef what);

/// Resolves a reshape target (entries > 0, or one -1 to infer) for `in`.
/// The batch dimension may move but not be split or merged with others.
/// bmm broadcasting: for an operand of shape [..., R, C] whose leading
/// dims broadcast (numpy-style, right-aligned) to `outLead`, the element
/// stride of each of outLead's dims in the operand: 0 where the operand
/// has no such dim or a size-1 one, else the usual row-major stride. An
/// output batch index (i_0, ..., i_k) starts at sum(i_d * stride_d).
std::vector<int64_t> bmmBatchStrides(const Shape &operand, const Shape &outLead);

/// The part sizes of a split node: its `sizes`, or equal parts (one per
/// result); errors when they do not cover the axis exactly.
llvm::Expected<std::vector<int64_t>> splitSizes(const Node &n);

llvm::Expected<Shape> resolveReshape(const Shape &in, const std::vector<int64_t> &target);

} // namespace gradc::ir
