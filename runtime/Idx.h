//===- runtime/Idx.h - IDX files (the MNIST format) ---------------*- C++ -*-===//
//
// An IDX file is a big-endian header, magic 0x0000TTNN (TT the element type,
// NN the number of dims), NN u32 dims, then the elements in C order. Files
// may be gzip-compressed (detected by the gzip magic 1f 8b, not by the name).
//
// Images: element type 0x08 (ubyte, scaled to [0, 1] by / 255) or 0x0D
// (big-endian float, as stored), at least 2 dims -> f32 [count, dims...].
// Labels: magic 0x00000801 (ubyte, 1 dim) -> i32 [count].
//
// The payload must be exactly the size the dims say: short files are
// "truncated: expected N bytes of pixels, got M", longer ones are errors too.
// Sizes are checked before anything is allocated, and decompression never
// produces more than the header announces (plus one byte to detect excess).
// Errors start with the file's path.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace gradc::rt {

/// Reads an IDX image file into f32 [count, dims...].
llvm::Expected<Tensor> readIdxImages(llvm::StringRef path);

/// Reads an IDX label file (magic 0x00000801) into i32 [count].
llvm::Expected<Tensor> readIdxLabels(llvm::StringRef path);

} // namespace gradc::rt
