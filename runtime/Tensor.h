//===- runtime/Tensor.h - A dense host tensor --------------------*- C++ -*-===//
//
// A Tensor owns a 64-byte aligned, zero-initialized buffer of a concrete shape
// (no symbolic dimensions), or is a view of memory someone else owns (a
// Session's arena). Copying either makes an owning copy. Sizes a user can influence go through create(),
// which checks for overflow and an upper bound before allocating.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include "llvm/Support/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>

namespace gradc::rt {

/// Largest single tensor gradc allocates (bytes); larger requests are errors.
inline constexpr int64_t kMaxTensorBytes = int64_t(16) << 30;

/// Frees a Tensor's memory unless the Tensor is a view.
struct TensorFree {
  bool owned = true;
  void operator()(void *p) const;
};

class Tensor {
public:
  Tensor() = default;
  /// Allocates; the caller guarantees the size is sane (asserts otherwise).
  Tensor(DType dtype, Shape shape);
  /// Allocates after checking every dimension >= 0 and the byte size against
  /// overflow and kMaxTensorBytes. `what` names the tensor in errors.
  static llvm::Expected<Tensor> create(DType dtype, Shape shape, const std::string &what);

  /// A tensor over `data`, which the caller owns and keeps alive longer.
  static Tensor view(DType dtype, Shape shape, void *data);

  Tensor(Tensor &&) = default;
  Tensor &operator=(Tensor &&) = default;
  Tensor(const Tensor &o);
  Tensor &operator=(const Tensor &o);

  DType dtype() const { return dtype_; }
  const Shape &shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  size_t bytes() const { return static_cast<size_t>(numel_) * sizeOf(dtype_); }
  bool empty() const { return !data_; }

  void *data() { return data_.get(); }
  const void *data() const { return data_.get(); }
  float *f32() { return static_cast<float *>(data()); }
  const float *f32() const { return static_cast<const float *>(data()); }
  int32_t *i32() { return static_cast<int32_t *>(data()); }
  const int32_t *i32() const { return static_cast<const int32_t *>(data()); }

private:
  using Free = TensorFree;
  DType dtype_ = DType::F32;
  Shape shape_;
  int64_t numel_ = 0;
  std::unique_ptr<void, Free> data_;
};

} // namespace gradc::rt
