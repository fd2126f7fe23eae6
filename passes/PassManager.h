//===- passes/PassManager.h - Runs a pipeline with instrumentation ---------===//
//
// The pipeline is data: a list of pass names. The PassManager runs them in
// order and alone owns instrumentation: printing the IR before/after passes
// (each dump under the fixed header "// ----- IR Dump After <pass> ----- //"),
// numbered dump files, verifying after every pass that changed the graph
// ("verifier failed after <pass>: ..."), timing, and stopping early.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/Pass.h"

#include "llvm/Support/raw_ostream.h"

#include <set>
#include <string>
#include <vector>

namespace gradc::passes {

struct Instrumentation {
  bool printAfterAll = false;
  std::set<std::string> printAfter;  // pass names
  std::set<std::string> printBefore; // pass names
  bool printAfterChange = false;     // print only after passes that changed
  std::string dumpDir;               // write NN-<pass>.gir after each pass
  std::string stopAfter;             // stop after this pass
  bool timePasses = false;           // report per-pass wall time at the end
  bool verifyEach = true;            // verify after every changing pass
  bool printLocations = true;
};

/// The default pipeline: training adds autodiff and the optimizer.
std::vector<std::string> defaultPipeline(bool training);

class PassManager {
public:
  PassManager(Instrumentation inst, llvm::raw_ostream &out, llvm::raw_ostream &err)
      : inst_(std::move(inst)), out_(out), err_(err) {}

  /// Validates names: an unknown pass is an error listing the known ones.
  /// Also errors if a --print-ir-*/--stop-after names a pass not in `names`.
  llvm::Error setPipeline(const std::vector<std::string> &names);
  /// Runs these passes (e.g. ones a test defines) instead of registered
  /// ones; the same checks of the instrumentation's pass names apply.
  llvm::Error setPipeline(std::vector<std::unique_ptr<Pass>> passes);
  const std::vector<std::string> &pipeline() const { return names_; }

  /// Runs the pipeline. Errors from a pass are returned prefixed with nothing
  /// extra (passes name the node); verifier failures name the pass.
  llvm::Error run(ir::Graph &g, PassContext &ctx);
  /// True when the last run() stopped at --stop-after.
  bool stoppedEarly() const { return stopped_; }

private:
  Instrumentation inst_;
  llvm::raw_ostream &out_;
  llvm::raw_ostream &err_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Pass>> passes_;
  bool stopped_ = false;
};

} // namespace gradc::passes
