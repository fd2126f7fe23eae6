//===- tools/gradc/main.cpp - The gradc command line ----------------------===//
//
// gradc train | run | grad | opt. Every option is declared here, scoped to its
// subcommands, so `gradc <cmd> --help` shows exactly what that command takes
// (LLVM's own options are hidden). The commands live in the other files.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "runtime/ThreadPool.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;
using namespace gradc;

namespace {
cl::OptionCategory Category("gradc options");

cl::SubCommand TrainCmd("train", "JIT-compile a model's training step and train it on data");
cl::SubCommand RunCmd("run", "Run inference: model outputs for inputs given as .npy files");
cl::SubCommand GradCmd("grad", "Write the loss and the gradient of every trainable param");
cl::SubCommand OptCmd("opt", "Run the compiler pipeline and print or dump the IR");

cl::SubCommandGroup AllCmds({&TrainCmd, &RunCmd, &GradCmd, &OptCmd});
cl::SubCommandGroup RunGradCmds({&RunCmd, &GradCmd});
cl::SubCommandGroup ExecCmds({&TrainCmd, &RunCmd, &GradCmd});

cl::opt<std::string> Model(cl::Positional, cl::desc("<model.pbtxt|model.pb>"), cl::Required,
                           cl::sub(AllCmds), cl::cat(Category));

// train
cl::opt<std::string> Data("data",
                          cl::desc("Training data: 'mnist' (the bundled digits), a directory "
                                   "with train-/t10k- IDX files, or text:FILE (lines of "
                                   "text for a character LM; default: mnist)"),
                          cl::init("mnist"), cl::value_desc("mnist|DIR|text:FILE"), cl::sub(TrainCmd),
                          cl::cat(Category));
cl::opt<int64_t> Epochs("epochs", cl::desc("Epochs (default: the model's training config)"),
                        cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<int64_t> Batch("batch", cl::desc("Batch size (default: the model's training config)"),
                       cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> LR("lr", cl::desc("Learning rate (default: the model's training config)"),
                   cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<uint64_t> Seed("seed",
                       cl::desc("Seed for initialization and shuffling (default: the model's)"),
                       cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> Optimizer("optimizer",
                               cl::desc("Optimizer (default: the model's training config)"),
                               cl::value_desc("sgd|rmsprop|adam|adamw"), cl::sub(TrainCmd),
                               cl::cat(Category));
cl::opt<double> Momentum("momentum", cl::desc("Momentum of sgd or rmsprop (default 0)"),
                         cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<bool> Nesterov("nesterov", cl::desc("Nesterov momentum (sgd)"), cl::sub(TrainCmd),
                       cl::cat(Category));
cl::opt<double> Alpha("alpha", cl::desc("rmsprop square-average decay (default 0.99)"),
                      cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> Beta1("beta1", cl::desc("adam/adamw first-moment decay (default 0.9)"),
                      cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> Beta2("beta2", cl::desc("adam/adamw second-moment decay (default 0.999)"),
                      cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> Eps("eps", cl::desc("rmsprop/adam/adamw epsilon (default 1e-8)"),
                    cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> WeightDecay("weight-decay",
                            cl::desc("Weight decay: L2 in the gradient, decoupled for adamw "
                                     "(default 0; adamw 0.01)"),
                            cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> ClipNorm("clip-norm",
                         cl::desc("Clip the global gradient norm to X before each update"),
                         cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> SaveParams("save-params",
                                cl::desc("Write the trained params to DIR as <name>.npy"),
                                cl::value_desc("DIR"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<bool> Quiet("quiet", cl::desc("Print only the final result"), cl::sub(TrainCmd),
                    cl::cat(Category));
cl::opt<int64_t> MaxSteps("max-steps",
                          cl::desc("With --data text:PATH, at most N steps per epoch"),
                          cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));

cl::opt<unsigned> Threads("threads",
                         cl::desc("Threads the compiled kernels use (default 0: every core)"),
                         cl::init(0), cl::value_desc("N"), cl::sub(ExecCmds), cl::cat(Category));

// run, grad
cl::opt<std::string> Params("params", cl::desc("Directory of <param>.npy files"),
                            cl::value_desc("DIR"), cl::Required, cl::sub(RunGradCmds),
                            cl::cat(Category));
cl::list<std::string> Inputs("input", cl::desc("Bind model input NAME to a .npy file"),
                             cl::value_desc("NAME=FILE.npy"), cl::OneOrMore,
                             cl::sub(RunGradCmds), cl::cat(Category));
cl::opt<std::string> OutputDir("output-dir", cl::desc("Directory for the .npy results"),
                               cl::value_desc("DIR"), cl::Required, cl::sub(RunGradCmds),
                               cl::cat(Category));

// opt
cl::opt<bool> OptTrain("train", cl::desc("Build the training step (autodiff + optimizer)"),
                       cl::sub(OptCmd), cl::cat(Category));
cl::opt<bool> PrintAfterAll("print-ir-after-all", cl::desc("Print the IR after every pass"),
                            cl::sub(OptCmd), cl::cat(Category));
cl::list<std::string> PrintAfter("print-ir-after", cl::desc("Print the IR after these passes"),
                                 cl::value_desc("P,Q"), cl::CommaSeparated, cl::sub(OptCmd),
                                 cl::cat(Category));
cl::list<std::string> PrintBefore("print-ir-before",
                                  cl::desc("Print the IR before these passes"),
                                  cl::value_desc("P,Q"), cl::CommaSeparated, cl::sub(OptCmd),
                                  cl::cat(Category));
cl::opt<bool> PrintAfterChange("print-ir-after-change",
                               cl::desc("Print the IR only after passes that changed it"),
                               cl::sub(OptCmd), cl::cat(Category));
cl::opt<std::string> DumpDir("dump-ir-dir",
                             cl::desc("Write the IR after each pass to DIR/NN-<pass>.gir"),
                             cl::value_desc("DIR"), cl::sub(OptCmd), cl::cat(Category));
cl::opt<std::string> StopAfter("stop-after", cl::desc("Stop the pipeline after pass P"),
                               cl::value_desc("P"), cl::sub(OptCmd), cl::cat(Category));
cl::opt<bool> TimePasses("time-passes", cl::desc("Report the time each pass took"),
                         cl::sub(OptCmd), cl::cat(Category));
cl::opt<bool> PrintLLVM("print-llvm", cl::desc("Print the optimized LLVM IR of the step"),
                        cl::sub(OptCmd), cl::cat(Category));
cl::opt<bool> NoLocations("no-locations", cl::desc("Omit loc(...) from printed IR"),
                          cl::sub(OptCmd), cl::cat(Category));
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(Category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "gradc: compile neural-network models to native code and train them\n\n"
      "  gradc train MODEL [--data mnist|DIR|text:FILE] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
      "              [--optimizer sgd|rmsprop|adam|adamw] [--momentum X] [--weight-decay X]\n"
      "              [--clip-norm X] ... [--threads N] [--save-params DIR]\n"
      "  gradc run MODEL --params DIR --input NAME=FILE.npy --output-dir DIR\n"
      "  gradc grad MODEL --params DIR --input NAME=FILE.npy ... --output-dir DIR\n"
      "  gradc opt MODEL [--train] [--print-ir-after-all] [--print-llvm] ...\n\n"
      "Run 'gradc <command> --help' for a command's options.\n");

  Error err = Error::success();
  if (TrainCmd || RunCmd || GradCmd)
    rt::setNumThreads(Threads);
  if (TrainCmd) {
    driver::TrainOptions o;
    o.model = Model;
    o.data = Data;
    if (Epochs.getNumOccurrences())
      o.epochs = Epochs;
    if (Batch.getNumOccurrences())
      o.batch = Batch;
    if (LR.getNumOccurrences())
      o.lr = LR;
    if (Seed.getNumOccurrences())
      o.seed = Seed;
    driver::OptimizerFlags &f = o.optimizer;
    if (Optimizer.getNumOccurrences())
      f.kind = Optimizer;
    const std::pair<cl::opt<double> *, std::optional<double> *> reals[] = {
        {&Momentum, &f.momentum}, {&Alpha, &f.alpha}, {&Beta1, &f.beta1},
        {&Beta2, &f.beta2},       {&Eps, &f.eps},     {&WeightDecay, &f.weightDecay},
        {&ClipNorm, &f.clipNorm}};
    for (auto [flag, field] : reals)
      if (flag->getNumOccurrences())
        *field = flag->getValue();
    if (Nesterov.getNumOccurrences())
      f.nesterov = Nesterov;
    o.saveParams = SaveParams;
    o.quiet = Quiet;
    if (MaxSteps.getNumOccurrences())
      o.maxSteps = MaxSteps;
    err = driver::runTrain(o);
  } else if (RunCmd || GradCmd) {
    driver::RunOptions o;
    o.model = Model;
    o.params = Params;
    o.inputs.assign(Inputs.begin(), Inputs.end());
    o.outputDir = OutputDir;
    err = RunCmd ? driver::runInference(o) : driver::runGrad(o);
  } else if (OptCmd) {
    driver::OptOptions o;
    o.model = Model;
    o.train = OptTrain;
    o.inst.printAfterAll = PrintAfterAll;
    o.inst.printAfter.insert(PrintAfter.begin(), PrintAfter.end());
    o.inst.printBefore.insert(PrintBefore.begin(), PrintBefore.end());
    o.inst.printAfterChange = PrintAfterChange;
    o.inst.dumpDir = DumpDir;
    o.inst.stopAfter = StopAfter;
    o.inst.timePasses = TimePasses;
    o.inst.printLocations = !NoLocations;
    o.printLLVM = PrintLLVM;
    err = driver::runOpt(o);
  } else {
    errs() << "gradc: error: no command given (train, run, grad or opt); see gradc --help\n";
    return 1;
  }
  if (err) {
    outs().flush();
    errs() << "gradc: error: " << toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
