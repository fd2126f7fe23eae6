//===- tests/TestUtil.h - Helpers shared by the C++ tests --------*- C++ -*-===//
#pragma once

#include "ir/Types.h"

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>
#include <string>

namespace gradc::test {

/// Path of a file in the source tree, e.g. sourcePath("examples/mlp_mnist.pbtxt").
std::string sourcePath(const std::string &rel);

/// Terse tensor types for building graphs in tests.
inline TensorType f32(Shape s) { return TensorType(DType::F32, std::move(s)); }
inline TensorType i32(Shape s) { return TensorType(DType::I32, std::move(s)); }

/// Unwraps an Expected in a test, failing with its message.
template <typename T> T expectOk(llvm::Expected<T> v) {
  if (!v) {
    ADD_FAILURE() << llvm::toString(v.takeError());
    std::abort();
  }
  return std::move(*v);
}
inline void expectOk(llvm::Error e) {
  if (e)
    FAIL() << llvm::toString(std::move(e));
}
/// The message of an error that must be present.
inline std::string errorText(llvm::Error e) {
  EXPECT_TRUE(!!e) << "expected an error";
  return e ? llvm::toString(std::move(e)) : std::string();
}

} // namespace gradc::test
