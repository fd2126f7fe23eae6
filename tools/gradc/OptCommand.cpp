//===- tools/gradc/OptCommand.cpp - gradc opt -----------------------------===//
//
// Runs the pipeline with the pass manager's instrumentation. Without any
// print flag it prints the final IR; --print-llvm compiles the final graph and
// prints the optimized LLVM IR instead.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "ir/Printer.h"

#include "llvm/Support/raw_ostream.h"

namespace gradc::driver {

llvm::Error runOpt(const OptOptions &o) {
  bool stopped = false;
  auto g = buildGraph(o.model, o.train ? Mode::Train : Mode::Infer, o.inst, &stopped);
  if (!g)
    return g.takeError();
  if (o.printLLVM) {
    if (stopped)
      return error("--print-llvm needs the whole pipeline; drop --stop-after");
    std::string text;
    auto exe = compile(**g, &text);
    if (!exe)
      return exe.takeError();
    llvm::outs() << text;
    return llvm::Error::success();
  }
  bool printed = o.inst.printAfterAll || !o.inst.printAfter.empty() ||
                 !o.inst.printBefore.empty() || o.inst.printAfterChange ||
                 !o.inst.dumpDir.empty() || o.inst.timePasses;
  if (!printed) {
    ir::PrintOptions po;
    po.locations = o.inst.printLocations;
    ir::printGraph(**g, llvm::outs(), po);
  }
  return llvm::Error::success();
}

} // namespace gradc::driver
