//===- runtime/Npy.h - NumPy .npy files ---------------------------*- C++ -*-===//
//
// Reads and writes single arrays in NumPy's .npy format
// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
//
// Reading accepts format versions 1.0, 2.0 and 3.0, C order only, and these
// little-endian dtypes:
//   <f4 -> f32, <i4 -> i32                         (as stored)
//   <f8 -> f32, <i8 / |u1 / |i1 / <u2 / <i2 -> i32 (converted; values that do
//                                                  not fit are errors)
// Every field is checked: magic, version, header length, the header dict
// (exactly the keys descr, fortran_order, shape), dims >= 0 with no overflow,
// and the file size, which must be header + data exactly.
//
// Writing produces version 1.0 (<f4 or <i4) through a temporary file that is
// renamed into place, so a failed write never leaves a partial file.
// All errors start with the file's path.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace gradc::rt {

/// Reads an .npy file into an f32 or i32 tensor.
llvm::Expected<Tensor> readNpy(llvm::StringRef path);

/// Parses .npy bytes; `path` names them in errors.
llvm::Expected<Tensor> parseNpy(llvm::StringRef bytes, llvm::StringRef path);

/// Writes `t` as an .npy file (version 1.0), atomically.
llvm::Error writeNpy(llvm::StringRef path, const Tensor &t);

} // namespace gradc::rt
