//===- ir/OpInfo.h - Op kinds and the per-op hook table ----------*- C++ -*-===//
//
// OpKind enumerates Ops.def. OpInfo is the graph-level part of each op's
// description: name, arity, class, flags, attribute schema, and the shape
// rule. The other per-op hooks live with the layer that uses them, each in a
// table generated from the same Ops.def:
//   - gradient rules:        passes/GradRules.cpp    (gradRule(OpKind))
//   - interpreter kernels:   interp/Kernels.cpp      (interpKernel(OpKind))
//   - LLVM lowerings:        codegen/Lower*.cpp      (loweringFor(OpKind))
// tests/unit/OpTableTest.cpp checks that every op has every hook it needs.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace gradc::ir {

class Node;

/// NumInputs of an op that takes one or more inputs (Ops.def).
inline constexpr unsigned kVariadic = ~0u;

enum class OpKind : uint16_t {
#define OP(Enum, Name, NumInputs, Class, Flags) Enum,
#include "ir/Ops.def"
};

inline constexpr unsigned kNumOps = 0
#define OP(Enum, Name, NumInputs, Class, Flags) +1
#include "ir/Ops.def"
    ;

/// Fusion/kernel class, from cheapest to heaviest (TVM's pattern kinds).
enum class OpClass : uint8_t {
  Elementwise,  // one output element from the same input element
  Broadcast,    // elementwise with numpy broadcasting
  DataMovement, // reshape, transpose, broadcast_to: index remapping only
  Reduce,       // reduces or normalizes along axes
  Loss,         // reduces to a scalar loss (or its gradient)
  MatMul,       // contraction: the heavy kernel
  Opaque,       // anything else
};

enum OpFlags : unsigned {
  Internal = 1u << 0,
  NoGrad = 1u << 1,
  OptionalLastInput = 1u << 2,
  Layer = 1u << 3,
  VariadicResults = 1u << 4, // one result or more, as many as the node names
  // The last input gets no gradient and autodiff does not differentiate
  // through it: the op's rule accounts for it (batch_norm_train's statistics
  // of its x).
  NoGradLastInput = 1u << 5,
};

enum class AttrKind : uint8_t { Int, Float, String, Ints, Floats };
const char *attrKindName(AttrKind k);

struct AttrSpec {
  const char *name;
  AttrKind kind;
  bool required;
  /// An Ints attribute that also takes one int (a [h, w] pair given once).
  bool scalarOk = false;
};

/// The shape rule: result types from the node's input types and attributes.
/// Errors name the cause only; the caller adds the node's location.
using ShapeRule = llvm::Expected<llvm::SmallVector<TensorType, 1>> (*)(const Node &);

struct OpInfo {
  OpKind kind;
  const char *name;
  unsigned numInputs;
  OpClass opClass;
  unsigned flags;
  llvm::ArrayRef<AttrSpec> attrs;
  ShapeRule inferShape;
  unsigned numResults = 1;

  bool isInternal() const { return flags & Internal; }
  bool hasGrad() const { return !(flags & NoGrad); }
  /// Whether autodiff sends a gradient to input `i` of a node with `n` inputs.
  bool gradFlowsTo(unsigned i, size_t n) const {
    return !(flags & NoGradLastInput) || i + 1 != n;
  }
  /// The fewest inputs the op takes: 1 for a variadic op, numInputs - 1 with
  /// OptionalLastInput, else numInputs.
  unsigned minInputs() const {
    return numInputs == kVariadic               ? 1
           : flags & OptionalLastInput ? numInputs - 1
                                       : numInputs;
  }
  /// Whether a node of this op may have `n` inputs.
  bool acceptsInputs(size_t n) const {
    return n >= minInputs() && (numInputs == kVariadic || n <= numInputs);
  }
  /// "2", "2 or 3", or "1 or more" for a variadic op: for messages.
  std::string arityText() const;
  bool isLayer() const { return flags & Layer; }
  /// Whether a node of this op may have `n` results (VariadicResults: >= 1).
  bool acceptsResults(size_t n) const {
    return flags & VariadicResults ? n >= 1 : n == numResults;
  }
  /// "1", or "1 or more" for VariadicResults: for messages.
  std::string resultsText() const {
    return flags & VariadicResults ? "1 or more" : std::to_string(numResults);
  }
  const AttrSpec *findAttr(llvm::StringRef n) const;
};

const OpInfo &opInfo(OpKind k);
llvm::StringRef opName(OpKind k);
std::optional<OpKind> lookupOp(llvm::StringRef name);
const char *opClassName(OpClass c);

/// Checks the node's attributes against its op's schema: no unknown names,
/// right kinds, required ones present. Errors name the attribute.
llvm::Error checkAttrs(const Node &n);

} // namespace gradc::ir
