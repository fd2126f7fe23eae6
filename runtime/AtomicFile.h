//===- runtime/AtomicFile.h - Crash-safe file replacement ---------*- C++ -*-===//
//
// writeFileAtomically writes bytes to a temporary file in the destination's
// directory, fsyncs it, renames it over the destination and fsyncs the
// directory, so at every instant the destination holds either its old
// content or the new one, whatever kills the process (or the machine).
//
// Test hook: when GRADC_TEST_PAUSE_IN_SAVE=SECONDS is set and the write asks
// for it (`pausable`), the write stops half-way through the temporary file,
// prints "gradc: test hook: pausing in the middle of writing <tmp>" to
// stderr and sleeps (at most 60 s), so a test can kill it there.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace gradc::rt {

/// Replaces `path` by `bytes` atomically (see the file comment). Errors name
/// the path. The temporary file is ".<name>.tmp-<pid>" beside `path` and is
/// removed on failure.
llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef bytes,
                                bool pausable = false);

/// True for names writeFileAtomically uses for its temporary files.
bool isAtomicTempName(llvm::StringRef fileName);

} // namespace gradc::rt
