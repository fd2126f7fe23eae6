//===- ir/Parser.h - Reads the text IR back ----------------------*- C++ -*-===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace gradc::ir {

/// Parses the text form written by printGraph. Errors read
/// "<file>:<line>:<col>: <what was expected>". Result types given in the text
/// are kept as they are (`?` = unknown); run infer-shapes or the verifier to
/// check them.
llvm::Expected<std::unique_ptr<Graph>> parseGraph(llvm::StringRef text,
                                                  llvm::StringRef fileName);

} // namespace gradc::ir
