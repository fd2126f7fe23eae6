//===- ir/Types.h - Element types, shapes and tensor types -------*- C++ -*-===//
//
// A tensor type is an element type plus a shape. Every dimension is a fixed
// size except, optionally, the symbolic batch dimension `N` (kBatch), whose
// value is known only when a step runs. This header has no dependencies beyond
// the standard library and LLVM ADT so that the runtime can describe buffers
// with the same types the compiler uses.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gradc {

enum class DType : uint8_t { F32, I32 };

/// The size of the symbolic batch dimension `N` in a Shape.
inline constexpr int64_t kBatch = -1;

using Shape = std::vector<int64_t>;

/// Bytes per element.
inline int64_t sizeOf(DType t) { return 4; }
/// "f32" / "i32".
const char *dtypeName(DType t);
std::optional<DType> parseDType(const std::string &s);

/// "[N,784]"; "[]" for a scalar.
std::string shapeToString(const Shape &s);
/// Product of the fixed dimensions (kBatch counts as 1).
int64_t staticNumel(const Shape &s);
/// True when some dimension is kBatch.
bool hasBatch(const Shape &s);
/// The shape with kBatch replaced by `batch`.
Shape bindBatch(const Shape &s, int64_t batch);
/// Number of elements with kBatch replaced by `batch`; nullopt on overflow.
std::optional<int64_t> numelFor(const Shape &s, int64_t batch);

/// What the runtime feeds a hyper input each step. The learning rate and the
/// Adam scalars that PyTorch computes in double on the host (bias corrections
/// lose ~1e-4 relative when beta**t is taken in f32) are computed by the
/// runtime from the step count (runtime/Hyper.h), so they live here, in the
/// vocabulary the compiler and the runtime share.
enum class HyperKind : uint8_t {
  LearningRate,            // lr
  AdamStepSize,            // lr / (1 - beta1^t)
  AdamBiasCorrection2Sqrt, // sqrt(1 - beta2^t)
  AdamWDecay,              // 1 - lr * weight_decay
  Step,                    // the 1-based step count (dropout masks)
};
/// "lr", "adam_step_size", "adam_bc2_sqrt", "adamw_decay", "step".
const char *hyperKindName(HyperKind k);
std::optional<HyperKind> parseHyperKind(const std::string &s);

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;
  /// False until shape inference has run on the value that has this type.
  bool known = false;

  TensorType() = default;
  TensorType(DType dt, Shape s) : dtype(dt), shape(std::move(s)), known(true) {}

  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  bool isScalar() const { return shape.empty(); }
  bool operator==(const TensorType &o) const {
    return known == o.known && dtype == o.dtype && shape == o.shape;
  }
  bool operator!=(const TensorType &o) const { return !(*this == o); }
  /// "f32[N,784]", or "?" when not yet known.
  std::string str() const;
};

} // namespace gradc
