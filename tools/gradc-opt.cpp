//===- tools/gradc-opt.cpp - Runs passes on text IR, for tests ------------===//
//
// gradc-opt FILE [--passes=a,b,c | --default-pipeline] [instrumentation flags]
//
// Reads text IR (.gir, or `-` for stdin) or a model (.pbtxt/.pb, through the
// frontend), verifies it, runs the requested passes under the PassManager
// (which prints, dumps, verifies and times), and prints the final IR to
// stdout. The lit tests in tests/lit/ drive the compiler through this tool.
//
// Errors are one line, "gradc-opt: error: <message>", and exit status 1.
//
// libLLVM registers its own global flags (-time-passes, -stop-after, ...),
// some with the names this tool needs; those are unregistered before ours are
// created, and --help lists only this tool's flags.
//
//===----------------------------------------------------------------------===//
#include "frontend/ModelLoader.h"
#include "ir/Parser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace gradc;

namespace {

const char *const kOwnFlags[] = {"passes",          "default-pipeline",
                                  "train",           "print-ir-after-all",
                                  "print-ir-after",  "print-ir-before",
                                  "print-ir-after-change", "dump-ir-dir",
                                  "stop-after",      "time-passes",
                                  "no-verify",       "no-locations"};

/// Every flag of the tool. Built inside main, after LLVM's clashing flags are
/// unregistered.
struct Options {
  explicit Options(const std::string &passesHelp) : passesHelp_(passesHelp) {}
  const std::string &passesHelp_; // outlives the options: it is main's

  cl::OptionCategory cat{"gradc-opt options"};

  cl::opt<std::string> input{cl::Positional, cl::init("-"),
                             cl::desc("<file.gir | model.pbtxt | model.pb | - (stdin)>"),
                             cl::cat(cat)};
  cl::list<std::string> passes{"passes", cl::CommaSeparated, cl::value_desc("a,b,c"),
                               cl::desc(passesHelp_), cl::cat(cat)};
  cl::opt<bool> defaultPipeline{
      "default-pipeline",
      cl::desc("Run the default pipeline (for training with --train, else inference)"),
      cl::cat(cat)};
  cl::opt<bool> train{"train", cl::desc("Build the training step: passes see training mode, "
                                        "and --default-pipeline adds autodiff and optimizer"),
                      cl::cat(cat)};
  cl::opt<bool> printAfterAll{"print-ir-after-all",
                              cl::desc("Print the IR after every pass"), cl::cat(cat)};
  cl::list<std::string> printAfter{"print-ir-after", cl::CommaSeparated,
                                   cl::value_desc("pass,..."),
                                   cl::desc("Print the IR after these passes"), cl::cat(cat)};
  cl::list<std::string> printBefore{"print-ir-before", cl::CommaSeparated,
                                    cl::value_desc("pass,..."),
                                    cl::desc("Print the IR before these passes"),
                                    cl::cat(cat)};
  cl::opt<bool> printAfterChange{
      "print-ir-after-change",
      cl::desc("Print the IR only after passes that changed it (alone: after every such "
               "pass; with --print-ir-after[-all]: narrows those)"),
      cl::cat(cat)};
  cl::opt<std::string> dumpDir{
      "dump-ir-dir", cl::value_desc("dir"),
      cl::desc("Write the IR to DIR/00-input.gir and DIR/NN-<pass>.gir after each pass "
               "(DIR is created)"),
      cl::cat(cat)};
  cl::opt<std::string> stopAfter{"stop-after", cl::value_desc("pass"),
                                 cl::desc("Stop the pipeline after this pass"),
                                 cl::cat(cat)};
  cl::opt<bool> timePasses{"time-passes",
                           cl::desc("Report the wall time of each pass on stderr"),
                           cl::cat(cat)};
  cl::opt<bool> noVerify{"no-verify",
                         cl::desc("Verify neither the input nor the IR after each pass"),
                         cl::cat(cat)};
  cl::opt<bool> noLocations{"no-locations",
                            cl::desc("Print IR without loc(...) suffixes"), cl::cat(cat)};
};

void unregisterClashingLLVMFlags() {
  StringMap<cl::Option *> &registered = cl::getRegisteredOptions();
  for (const char *name : kOwnFlags) {
    auto it = registered.find(name);
    if (it != registered.end())
      it->second->removeArgument();
  }
}

Error makeError(const Twine &msg) {
  return createStringError(inconvertibleErrorCode(), msg);
}

bool isModelFile(StringRef path) {
  StringRef ext = sys::path::extension(path);
  return ext == ".pbtxt" || ext == ".pb" || ext == ".txt";
}

Expected<std::unique_ptr<ir::Graph>> loadInput(StringRef path) {
  if (path != "-" && isModelFile(path))
    return frontend::loadModelFile(path);
  ErrorOr<std::unique_ptr<MemoryBuffer>> buf = MemoryBuffer::getFileOrSTDIN(path);
  if (!buf)
    return makeError("cannot read '" + path + "': " + buf.getError().message());
  return ir::parseGraph((*buf)->getBuffer(), path == "-" ? "<stdin>" : path);
}

Error runTool(const Options &opts) {
  if (opts.passes.getNumOccurrences() && opts.defaultPipeline)
    return makeError("--passes and --default-pipeline cannot be used together");

  passes::Instrumentation inst;
  inst.printAfterAll = opts.printAfterAll;
  inst.printAfter.insert(opts.printAfter.begin(), opts.printAfter.end());
  inst.printBefore.insert(opts.printBefore.begin(), opts.printBefore.end());
  inst.printAfterChange = opts.printAfterChange;
  inst.dumpDir = opts.dumpDir;
  inst.stopAfter = opts.stopAfter;
  inst.timePasses = opts.timePasses;
  inst.verifyEach = !opts.noVerify;
  inst.printLocations = !opts.noLocations;

  passes::PassManager pm(inst, outs(), errs());
  std::vector<std::string> pipeline(opts.passes.begin(), opts.passes.end());
  if (opts.defaultPipeline)
    pipeline = passes::defaultPipeline(opts.train);
  if (Error e = pm.setPipeline(pipeline))
    return e;

  auto graph = loadInput(opts.input);
  if (!graph)
    return graph.takeError();
  if (!opts.noVerify)
    if (Error e = ir::verifyGraph(**graph))
      return e;

  passes::PassContext ctx;
  ctx.training = opts.train;
  if (Error e = pm.run(**graph, ctx))
    return e;

  ir::PrintOptions print;
  print.locations = !opts.noLocations;
  ir::printGraph(**graph, outs(), print);
  return Error::success();
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  unregisterClashingLLVMFlags();
  std::string passesHelp = "Run these passes in this order (known: " +
                           join(passes::allPassNames(), ", ") +
                           "). Without it or --default-pipeline, no pass runs";
  Options opts(passesHelp);
  cl::HideUnrelatedOptions(opts.cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "gradc-opt: run gradc passes on text IR or a model and print the IR\n\n"
      "  gradc-opt model.gir --passes=infer-shapes,dce --print-ir-after-all\n"
      "  gradc-opt model.pbtxt --default-pipeline --train --dump-ir-dir=dumps\n");
  if (Error e = runTool(opts)) {
    outs().flush();
    errs() << "gradc-opt: error: " << toString(std::move(e)) << "\n";
    return 1;
  }
  return 0;
}
