#include "runtime/Tensor.h"

#include "llvm/Support/FormatVariadic.h"

#include <cassert>
#include <cstdlib>
#include <cstring>

namespace gradc::rt {

void TensorFree::operator()(void *p) const {
  if (owned)
    std::free(p);
}

Tensor Tensor::view(DType dtype, Shape shape, void *data) {
  auto n = numelFor(shape, 0);
  assert(n && !hasBatch(shape) && data && "a view needs a concrete shape and memory");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = *n;
  t.data_ = std::unique_ptr<void, Free>(data, Free{false});
  return t;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  auto n = numelFor(shape_, 0);
  assert(n && !hasBatch(shape_) && "Tensor needs a concrete shape");
  numel_ = *n;
  size_t bytes = std::max<size_t>(64, (this->bytes() + 63) / 64 * 64);
  void *p = std::aligned_alloc(64, bytes);
  assert(p && "out of memory");
  std::memset(p, 0, bytes);
  data_.reset(p);
}

llvm::Expected<Tensor> Tensor::create(DType dtype, Shape shape, const std::string &what) {
  for (int64_t d : shape)
    if (d < 0)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "%s: negative dimension in shape %s", what.c_str(),
                                     shapeToString(shape).c_str());
  auto n = numelFor(shape, 0);
  if (!n || *n > kMaxTensorBytes / sizeOf(dtype))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::formatv("{0}: shape {1} is too large (limit {2} bytes)", what,
                      shapeToString(shape), kMaxTensorBytes)
            .str());
  return Tensor(dtype, std::move(shape));
}

Tensor::Tensor(const Tensor &o) {
  if (o.data_) {
    *this = Tensor(o.dtype_, o.shape_);
    std::memcpy(data(), o.data(), bytes());
  }
}

Tensor &Tensor::operator=(const Tensor &o) {
  if (this != &o) {
    Tensor copy(o);
    *this = std::move(copy);
  }
  return *this;
}

} // namespace gradc::rt
