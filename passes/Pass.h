//===- passes/Pass.h - The pass interface ------------------------*- C++ -*-===//
//
// A pass is a named transformation of a Graph. run() returns whether it
// changed the graph, or an error for the user (bad model). Passes never print,
// dump, verify or time themselves: the PassManager does that between passes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace gradc::passes {

/// What passes may read besides the graph.
struct PassContext {
  bool training = false; // building the training step (vs inference)
};

class Pass {
public:
  virtual ~Pass() = default;
  virtual llvm::StringRef name() const = 0;
  virtual llvm::Expected<bool> run(ir::Graph &g, PassContext &ctx) = 0;
};

/// Creates the pass registered under `name` in Passes.def, or null.
std::unique_ptr<Pass> createPass(llvm::StringRef name);
/// Every registered pass name, in Passes.def order.
std::vector<llvm::StringRef> allPassNames();

} // namespace gradc::passes
