//===- frontend/ModelLoader.h - .pbtxt / .pb models into a Graph -*- C++ -*-===//
//
// Loads a model file (protobuf text format when the name ends in .pbtxt or
// .txt, binary otherwise), checks it, and builds an ir::Graph: inputs, params,
// nodes in topological order (file order where the data flow allows) with
// locations (file:line of each node), outputs, loss, training config. Types
// of node results are left unknown for infer-shapes.
//
// Errors are one line, "<file>:<line>: <what>", for: malformed text (with
// protobuf's line and column), unknown op (with a suggestion), wrong arity,
// unknown attribute, a name used but never defined, a name defined twice, a
// cycle (naming its nodes), bad types or initializers, an unknown loss or
// output. A param without an `init` block is zero-filled.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace gradc::frontend {

llvm::Expected<std::unique_ptr<ir::Graph>> loadModelFile(llvm::StringRef path);
/// Parses model text (protobuf text format) named `fileName` in errors.
llvm::Expected<std::unique_ptr<ir::Graph>> loadModelText(llvm::StringRef text,
                                                         llvm::StringRef fileName);

} // namespace gradc::frontend
