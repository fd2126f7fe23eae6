//===- runtime/ParamIO.h - Params as a directory of .npy files ----*- C++ -*-===//
//
// A param directory holds one `<name>.npy` per param (f32 or i32, the param's
// exact shape), readable and writable with NumPy. Files are written
// atomically one by one (runtime/Npy.h); other files in the directory are
// ignored. Param names that are not plain file names ('/', "..", control
// characters) are errors, so a model cannot write outside the directory.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Executable.h"
#include "runtime/Session.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace gradc::rt {

/// Writes every param of `params` to `dir/<name>.npy`, creating `dir`.
/// Optimizer state is skipped: a param directory holds the model only.
llvm::Error saveParams(llvm::StringRef dir, const ParamStore &params);

/// Reads `dir/<name>.npy` for every Param buffer (not OptState) in `bufs`
/// into `params`.
/// Each file must exist ("missing param file DIR/W1.npy") and match the
/// param's dtype and shape exactly ("DIR/W1.npy: shape [784,10] does not
/// match param W1 f32[784,256]"); f64 and i64 files are converted.
llvm::Error loadParams(llvm::StringRef dir, const std::vector<BufferDesc> &bufs,
                       ParamStore &params);

} // namespace gradc::rt
