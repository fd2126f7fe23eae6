//===- tools/gradc/main.cpp - The gradc command line ----------------------===//
//
// gradc train | eval | run | sample | grad | opt | bench | compile | export-params.
// Every option is declared here, scoped to its subcommands, so
// `gradc <cmd> --help` shows exactly what that command takes
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
cl::SubCommand SampleCmd("sample",
                          "Generate text from a trained character-level language model");
cl::SubCommand GradCmd("grad", "Write the loss and the gradient of every trainable param");
cl::SubCommand OptCmd("opt", "Run the compiler pipeline and print or dump the IR");
cl::SubCommand BenchCmd("bench", "Time a model's compiled training step or inference");
cl::SubCommand CompileCmd("compile",
                          "Compile a model to an object file and a C header (no runtime needed)");
cl::SubCommand EvalCmd("eval", "Loss, accuracy and confusion matrix of trained params on data");
cl::SubCommand ExportCmd("export-params",
                         "Write the params of a training checkpoint as a .npy directory");

cl::SubCommandGroup AllCmds({&TrainCmd, &RunCmd, &SampleCmd, &GradCmd, &OptCmd, &BenchCmd, &CompileCmd,
                             &EvalCmd});
cl::SubCommandGroup RunGradCmds({&RunCmd, &GradCmd});
cl::SubCommandGroup ParamCmds({&RunCmd, &SampleCmd, &GradCmd, &EvalCmd});
cl::SubCommandGroup ExecCmds({&TrainCmd, &RunCmd, &SampleCmd, &GradCmd, &EvalCmd, &BenchCmd});
cl::SubCommandGroup DataCmds({&TrainCmd, &EvalCmd});

cl::opt<std::string> Model(cl::Positional, cl::desc("<model.pbtxt|model.pb>"), cl::Required,
                           cl::sub(AllCmds), cl::cat(Category));

cl::opt<bool> NoFuse("no-fuse",
                     cl::desc("Do not run the fuse pass: one kernel per node (to compare "
                              "fused and unfused steps)"),
                     cl::sub(AllCmds), cl::cat(Category));

// train, eval
cl::opt<std::string> Data("data",
                          cl::desc("Data: 'mnist' (the bundled digits), a directory of MNIST "
                                   "IDX files (train: train-*, eval: t10k-*), FILE.csv, "
                                   "X.npy,Y.npy, or text:FILE (lines of text for a character "
                                   "LM; train only) (default: mnist)"),
                          cl::init("mnist"),
                          cl::value_desc("mnist|DIR|FILE.csv|X.npy,Y.npy|text:FILE"),
                          cl::sub(DataCmds), cl::cat(Category));

// train
cl::opt<std::string> DevData("dev-data",
                             cl::desc("Dev set evaluated after every epoch (formats as --data)"),
                             cl::value_desc("SPEC"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> DevFraction("dev-fraction",
                            cl::desc("Hold out this fraction of the training set as the dev "
                                     "set (drawn by --seed)"),
                            cl::value_desc("F"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> AugmentSpec("augment",
                                 cl::desc("Seeded augmentation of image training samples: "
                                          "random crop with zero padding P, left-right flip, "
                                          "gaussian noise of std S"),
                                 cl::value_desc("crop:P,flip,noise:S"), cl::sub(TrainCmd),
                                 cl::cat(Category));
cl::opt<int64_t> Patience("patience",
                          cl::desc("Stop after N epochs without a lower dev loss (default 0: "
                                   "never)"),
                          cl::init(0), cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<int64_t> MaxSteps("max-steps", cl::desc("Stop after N training steps in all (the schedule stays planned over --epochs)"),
                          cl::init(0), cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> Schedule("schedule",
                              cl::desc("Learning-rate schedule (default: the model's, else "
                                       "constant)"),
                              cl::value_desc("constant|step|exponential|cosine"),
                              cl::sub(TrainCmd), cl::cat(Category));
cl::opt<int64_t> Warmup("warmup", cl::desc("Linear warmup over the first N steps"),
                        cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<int64_t> StepSize("step-size",
                          cl::desc("step schedule: decay every N epochs (or steps) (default 1)"),
                          cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> Gamma("gamma",
                      cl::desc("step/exponential schedule: decay factor (default 0.1)"),
                      cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<double> EtaMin("eta-min", cl::desc("cosine schedule: the final rate (default 0)"),
                       cl::value_desc("X"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> ScheduleUnit("schedule-unit",
                                  cl::desc("step/exponential schedule: decay per epoch "
                                           "(default) or per step"),
                                  cl::value_desc("epoch|step"), cl::sub(TrainCmd),
                                  cl::cat(Category));
cl::opt<std::string> LogCsv("log-csv", cl::desc("Write one CSV row per epoch to FILE"),
                            cl::value_desc("FILE"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> Plot("plot", cl::desc("Draw loss and accuracy curves to FILE.svg"),
                          cl::value_desc("FILE.svg"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> CheckpointDir("checkpoint-dir",
                                   cl::desc("Save a checkpoint to DIR after every epoch"),
                                   cl::value_desc("DIR"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<int64_t> CheckpointEvery("checkpoint-every",
                                 cl::desc("Also save a checkpoint every N steps"), cl::init(0),
                                 cl::value_desc("N"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<int64_t> Keep("keep", cl::desc("Keep the newest K checkpoints (default 3)"), cl::init(3),
                      cl::value_desc("K"), cl::sub(TrainCmd), cl::cat(Category));
cl::opt<std::string> Resume("resume",
                            cl::desc("Continue from the newest valid checkpoint of "
                                     "--checkpoint-dir, or from FILE"),
                            cl::ValueOptional, cl::value_desc("FILE"), cl::sub(TrainCmd),
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
cl::opt<bool> Quiet("quiet", cl::desc("Print only the final result (no progress)"),
                    cl::sub(TrainCmd), cl::cat(Category));
cl::opt<bool> NoConfusion("no-confusion", cl::desc("Omit the confusion matrix"),
                          cl::sub(EvalCmd), cl::cat(Category));

// export-params
cl::opt<std::string> Checkpoint(cl::Positional, cl::desc("<checkpoint.gradc>"), cl::Required,
                                cl::sub(ExportCmd), cl::cat(Category));
cl::opt<std::string> ExportDir("output-dir", cl::desc("Directory for the <param>.npy files"),
                               cl::value_desc("DIR"), cl::Required, cl::sub(ExportCmd),
                               cl::cat(Category));

cl::opt<unsigned> Threads("threads",
                         cl::desc("Threads the compiled kernels use (default 0: every core)"),
                         cl::init(0), cl::value_desc("N"), cl::sub(ExecCmds), cl::cat(Category));

// run, grad
cl::opt<std::string> Params("params", cl::desc("Directory of <param>.npy files"),
                            cl::value_desc("DIR"), cl::Required, cl::sub(ParamCmds),
                            cl::cat(Category));
cl::list<std::string> Inputs("input", cl::desc("Bind model input NAME to a .npy file"),
                             cl::value_desc("NAME=FILE.npy"), cl::OneOrMore,
                             cl::sub(RunGradCmds), cl::cat(Category));
cl::opt<std::string> OutputDir("output-dir", cl::desc("Directory for the .npy results"),
                               cl::value_desc("DIR"), cl::Required, cl::sub(RunGradCmds),
                               cl::cat(Category));

// sample
cl::opt<std::string> Prompt("prompt",
                            cl::desc("Text the generated text continues (default: the start "
                                     "of a line)"),
                            cl::value_desc("TEXT"), cl::sub(SampleCmd), cl::cat(Category));
cl::opt<int64_t> Length("length", cl::desc("Characters to generate (default 200)"),
                        cl::init(200), cl::value_desc("N"), cl::sub(SampleCmd),
                        cl::cat(Category));
cl::opt<double> Temperature("temperature",
                            cl::desc("Divide the logits by T before sampling: below 1 is "
                                     "more conservative, 0 always takes the most likely "
                                     "character (default 1)"),
                            cl::init(1.0), cl::value_desc("T"), cl::sub(SampleCmd),
                            cl::cat(Category));
cl::opt<uint64_t> SampleSeed("seed", cl::desc("Seed of the sampler (default 1)"), cl::init(1),
                             cl::value_desc("N"), cl::sub(SampleCmd), cl::cat(Category));

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
// bench
cl::opt<bool> BenchInfer("infer", cl::desc("Time the forward pass (eval) instead of a training step"),
                         cl::sub(BenchCmd), cl::cat(Category));
cl::opt<int64_t> BenchBatch("batch",
                            cl::desc("Batch size (default: the model's training batch size)"),
                            cl::value_desc("N"), cl::sub(BenchCmd), cl::cat(Category));
cl::opt<int64_t> BenchSteps("steps", cl::desc("Timed steps (default 50)"), cl::init(50),
                            cl::value_desc("N"), cl::sub(BenchCmd), cl::cat(Category));
cl::opt<int64_t> BenchWarmup("warmup", cl::desc("Untimed steps first (default 10)"),
                             cl::init(10), cl::value_desc("N"), cl::sub(BenchCmd),
                             cl::cat(Category));
cl::opt<bool> BenchJson("json", cl::desc("Print one JSON object instead of the report"),
                        cl::sub(BenchCmd), cl::cat(Category));

cl::opt<bool> NoLocations("no-locations", cl::desc("Omit loc(...) from printed IR"),
                          cl::sub(OptCmd), cl::cat(Category));
// compile
cl::opt<std::string> CompileOutput("o", cl::desc("The object file (or assembly, LLVM IR) to write"),
                                   cl::value_desc("FILE"), cl::Required, cl::sub(CompileCmd),
                                   cl::cat(Category));
cl::opt<std::string> CompileHeader("header", cl::desc("Also write the C header to FILE"),
                                   cl::value_desc("FILE"), cl::sub(CompileCmd),
                                   cl::cat(Category));
cl::opt<std::string> CompileName("name",
                                 cl::desc("Prefix of every exported symbol and macro (default: "
                                          "the model file's name as a C identifier)"),
                                 cl::value_desc("PREFIX"), cl::sub(CompileCmd),
                                 cl::cat(Category));
cl::opt<std::string> CompileEntry("entry",
                                  cl::desc("Entry points: inference, the training step, or "
                                           "both (default: both if the model has a loss)"),
                                  cl::value_desc("infer|train|both"), cl::sub(CompileCmd),
                                  cl::cat(Category));
cl::opt<std::string> CompileParams("params",
                                   cl::desc("Directory of <param>.npy files to embed (with "
                                            "--embed-params)"),
                                   cl::value_desc("DIR"), cl::sub(CompileCmd),
                                   cl::cat(Category));
cl::opt<bool> EmbedParams("embed-params",
                          cl::desc("Put the params of --params DIR into the object as constants"),
                          cl::sub(CompileCmd), cl::cat(Category));
cl::opt<std::string> TargetCpu("target-cpu",
                               cl::desc("CPU to generate code for: native (default: this "
                                        "machine's CPU and features), x86-64-v4 (AVX-512), "
                                        "x86-64-v3 (AVX2), x86-64 (SSE2: any x86-64), or "
                                        "another CPU name LLVM knows"),
                               cl::init("native"),
                               cl::value_desc("native|x86-64-v4|x86-64-v3|x86-64"),
                               cl::sub(CompileCmd), cl::cat(Category));
cl::opt<bool> CompileStats("stats",
                           cl::desc("Print the object's size, the params and each entry's "
                                    "workspace: planned (plan-memory) against one buffer per "
                                    "value"),
                           cl::sub(CompileCmd), cl::cat(Category));
cl::opt<unsigned> CompileThreads("threads",
                                 cl::desc("Threads each parallel loop of the object uses: 1 "
                                          "(default) runs on the caller only; N > 1 creates "
                                          "up to N-1 pthreads per loop (link with -lpthread)"),
                                 cl::init(1), cl::value_desc("N"), cl::sub(CompileCmd),
                                 cl::cat(Category));
cl::opt<std::string> Emit("emit", cl::desc("What -o holds (default: obj)"), cl::init("obj"),
                          cl::value_desc("obj|asm|llvm"), cl::sub(CompileCmd),
                          cl::cat(Category));
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(Category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "gradc: compile neural-network models to native code and train them\n\n"
      "  gradc train MODEL [--data SPEC] [--epochs N] [--batch N] [--lr X] [--seed N]\n"
      "              [--optimizer sgd|rmsprop|adam|adamw] [--momentum X] [--weight-decay X]\n"
      "              [--clip-norm X] [--schedule cosine] [--warmup N] ...\n"
      "              [--dev-fraction F | --dev-data SPEC] [--patience N] [--max-steps N]\n"
      "              [--augment crop:P,flip,noise:S] [--log-csv FILE] [--plot FILE.svg]\n"
      "              [--checkpoint-dir DIR] [--checkpoint-every N] [--keep K] [--resume[=FILE]]\n"
      "              [--threads N] [--save-params DIR]\n"
      "  gradc eval MODEL --params DIR [--data SPEC]\n"
      "  gradc export-params CHECKPOINT --output-dir DIR\n"
      "  gradc run MODEL --params DIR --input NAME=FILE.npy --output-dir DIR\n"
      "  gradc sample MODEL --params DIR [--prompt TEXT] [--length N] [--temperature T]\n"
      "              [--seed N]\n"
      "  gradc grad MODEL --params DIR --input NAME=FILE.npy ... --output-dir DIR\n"
      "  gradc opt MODEL [--train] [--print-ir-after-all] [--print-llvm] ...\n"
      "  gradc bench MODEL [--infer] [--batch N] [--threads N] [--steps N] [--json]\n"
      "  gradc compile MODEL -o model.o [--header model.h] [--name PREFIX]\n"
      "              [--entry infer|train|both] [--params DIR --embed-params]\n"
      "              [--target-cpu native|x86-64-v4|x86-64-v3|x86-64] [--threads N]\n"
      "              [--emit obj|asm|llvm] [--stats]\n\n"
      "Run 'gradc <command> --help' for a command's options; docs/TRAINING.md is the guide.\n");

  Error err = Error::success();
  driver::setFusion(!NoFuse);
  if (TrainCmd || RunCmd || SampleCmd || GradCmd || EvalCmd || BenchCmd)
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
    driver::ScheduleFlags &sf = o.schedule;
    if (Schedule.getNumOccurrences())
      sf.kind = Schedule;
    if (ScheduleUnit.getNumOccurrences())
      sf.unit = ScheduleUnit;
    if (StepSize.getNumOccurrences())
      sf.stepSize = StepSize;
    if (Warmup.getNumOccurrences())
      sf.warmup = Warmup;
    if (Gamma.getNumOccurrences())
      sf.gamma = Gamma;
    if (EtaMin.getNumOccurrences())
      sf.etaMin = EtaMin;
    o.devData = DevData;
    o.augment = AugmentSpec;
    if (DevFraction.getNumOccurrences())
      o.devFraction = DevFraction;
    o.patience = Patience;
    o.maxSteps = MaxSteps;
    o.logCsv = LogCsv;
    o.plot = Plot;
    o.checkpointDir = CheckpointDir;
    o.checkpointEvery = CheckpointEvery;
    o.keep = Keep;
    o.resume = Resume.getNumOccurrences() > 0 && Resume.empty();
    o.resumeFrom = Resume;
    o.saveParams = SaveParams;
    o.quiet = Quiet;
    err = driver::runTrain(o);
  } else if (EvalCmd) {
    driver::EvalOptions o;
    o.model = Model;
    o.params = Params;
    o.data = Data;
    o.confusion = !NoConfusion;
    err = driver::runEval(o);
  } else if (ExportCmd) {
    err = driver::runExportParams({Checkpoint, ExportDir});
  } else if (RunCmd || GradCmd) {
    driver::RunOptions o;
    o.model = Model;
    o.params = Params;
    o.inputs.assign(Inputs.begin(), Inputs.end());
    o.outputDir = OutputDir;
    err = RunCmd ? driver::runInference(o) : driver::runGrad(o);
  } else if (SampleCmd) {
    driver::SampleOptions o;
    o.model = Model;
    o.params = Params;
    o.prompt = Prompt;
    o.length = Length;
    o.temperature = Temperature;
    o.seed = SampleSeed;
    err = driver::runSample(o);
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
  } else if (BenchCmd) {
    driver::BenchOptions o;
    o.model = Model;
    o.infer = BenchInfer;
    if (BenchBatch.getNumOccurrences())
      o.batch = BenchBatch;
    o.steps = BenchSteps;
    o.warmup = BenchWarmup;
    o.json = BenchJson;
    err = driver::runBench(o);
  } else if (CompileCmd) {
    driver::CompileOptions o;
    o.model = Model;
    o.output = CompileOutput;
    o.header = CompileHeader;
    o.name = CompileName;
    o.entry = CompileEntry;
    o.params = CompileParams;
    o.embedParams = EmbedParams;
    o.targetCpu = TargetCpu;
    o.emit = Emit;
    o.threads = CompileThreads;
    o.stats = CompileStats;
    o.commandLine = "gradc";
    for (int i = 1; i < argc; ++i)
      o.commandLine += std::string(" ") + argv[i];
    err = driver::runCompile(o);
  } else {
    errs() << "gradc: error: no command given (train, eval, run, sample, grad, opt, bench, compile or "
              "export-params); see gradc --help\n";
    return 1;
  }
  if (err) {
    outs().flush();
    errs() << "gradc: error: " << toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
