//===- passes/PassRegistry.cpp - Pass names to passes, default pipelines --===//
//
// The only place that maps a pass name to its factory (generated from
// Passes.def) and the only place that says which passes run by default, so
// the pipeline can be read in one screen.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"
#include "passes/Passes.h"

namespace gradc::passes {

std::unique_ptr<Pass> createPass(llvm::StringRef name) {
#define PASS(Name, Class)                                                      \
  if (name == Name)                                                            \
    return create##Class();
#include "passes/Passes.def"
  return nullptr;
}

std::vector<llvm::StringRef> allPassNames() {
  return {
#define PASS(Name, Class) Name,
#include "passes/Passes.def"
  };
}

std::vector<std::string> defaultPipeline(bool training) {
  if (training)
    return {"expand-layers", "infer-shapes", "train-mode", "autodiff", "optimizer", "dce",
            "fuse", "plan-memory"};
  return {"expand-layers", "infer-shapes", "dce", "fuse", "plan-memory"};
}

} // namespace gradc::passes
