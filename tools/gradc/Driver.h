//===- tools/gradc/Driver.h - The gradc subcommands --------------*- C++ -*-===//
//
// main.cpp parses the command line (llvm::cl subcommands) into the option
// structs below and calls one command. Commands return an llvm::Error for
// anything the user can fix; main prints it as one line and exits 1.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Jit.h"
#include "ir/Graph.h"
#include "passes/PassManager.h"
#include "runtime/Executable.h"
#include "runtime/Tensor.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gradc::driver {

/// Which graph to build from a model.
enum class Mode {
  Infer, // forward to the outputs; no loss, no labels
  Eval,  // forward to the outputs and the loss
  Grad,  // forward, loss and the gradient of every trainable param
  Train, // Grad plus the optimizer's param updates
};

/// Command-line overrides of the model's optimizer settings (gradc train).
/// The learning rate is not here: it is a runtime input, never compiled in.
struct OptimizerFlags {
  std::optional<std::string> kind;
  std::optional<double> momentum, alpha, beta1, beta2, eps, weightDecay, clipNorm;
  std::optional<bool> nesterov;
  /// Sets the given fields in `t` and checks the result; errors name the flag.
  llvm::Error apply(ir::TrainingConfig &t) const;
};

/// Whether the pipelines built by buildGraph run `fuse` (default on;
/// `--no-fuse` turns it off, for comparing fused and unfused steps).
void setFusion(bool enabled);

/// Loads `modelPath`, applies `flags` to its training config and runs the
/// pass pipeline for `mode` under `inst` (dumps go to stdout).
llvm::Expected<std::unique_ptr<ir::Graph>>
buildGraph(const std::string &modelPath, Mode mode,
           const passes::Instrumentation &inst = {}, bool *stoppedEarly = nullptr,
           const OptimizerFlags &flags = {});

/// Builds and compiles the step that evaluates a model (forward and loss,
/// params unchanged): what dev evaluation and `gradc eval` run.
llvm::Expected<std::unique_ptr<rt::Executable>> compileEvalStep(const std::string &modelPath);

/// JIT-compiles a graph built by buildGraph; `times`, if given, receives
/// the seconds of each codegen phase.
llvm::Expected<std::unique_ptr<rt::Executable>> compile(const ir::Graph &g,
                                                        std::string *llvmIR = nullptr,
                                                        codegen::CompileTimes *times = nullptr);

/// Command-line overrides of the model's learning-rate schedule.
struct ScheduleFlags {
  std::optional<std::string> kind, unit;
  std::optional<int64_t> stepSize, warmup;
  std::optional<double> gamma, etaMin;
};

struct TrainOptions {
  std::string model;
  std::string data = "mnist"; // runtime data spec (tools/gradc/Data.cpp)
  std::string devData;        // a dev set in the same formats
  std::optional<double> devFraction;
  std::optional<int64_t> epochs, batch;
  std::optional<double> lr;
  std::optional<uint64_t> seed;
  OptimizerFlags optimizer;
  ScheduleFlags schedule;
  std::string augment;  // --augment spec ("" = none)
  int64_t patience = 0; // 0: no early stopping
  int64_t maxSteps = 0; // 0: no limit
  std::string logCsv, plot;
  std::string checkpointDir;
  int64_t checkpointEvery = 0;
  int64_t keep = 3;
  bool resume = false;
  std::string resumeFrom; // an explicitly named checkpoint
  std::string saveParams;
  bool quiet = false;
};

struct EvalOptions {
  std::string model;
  std::string params;
  std::string data = "mnist";
  bool confusion = true;
};

struct ExportParamsOptions {
  std::string checkpoint;
  std::string outputDir;
};

struct RunOptions {
  std::string model;
  std::string params;
  std::vector<std::string> inputs; // NAME=FILE.npy
  std::string outputDir;
};

struct SampleOptions {
  std::string model;
  std::string params;      // DIR of <param>.npy files and vocab.tsv
  std::string prompt;      // "" = start of a line
  int64_t length = 200;    // characters to generate
  double temperature = 1.0; // 0 = always the most likely character
  uint64_t seed = 1;
};

struct BenchOptions {
  std::string model;
  bool infer = false;             // time the forward pass instead of a training step
  std::optional<int64_t> batch;   // default: the model's training batch size
  int64_t steps = 50, warmup = 10;
  bool json = false;              // one JSON object instead of the text report
};

struct OptOptions {
  std::string model;
  bool train = false;
  passes::Instrumentation inst;
  bool printLLVM = false;
};

struct CompileOptions {
  std::string model;
  std::string output;      // -o
  std::string header;      // --header; empty: none
  std::string name;        // --name; empty: from the model file name
  std::string entry;       // infer | train | both; empty: both if the model has a loss
  std::string params;      // --params DIR
  bool embedParams = false;
  std::string targetCpu = "native";
  std::string emit = "obj"; // obj | asm | llvm
  unsigned threads = 1;     // --threads
  bool stats = false;       // --stats: print sizes and planned memory
  std::string commandLine;  // recorded in the header
};

llvm::Error runTrain(const TrainOptions &o);
llvm::Error runCompile(const CompileOptions &o);
llvm::Error runEval(const EvalOptions &o);
llvm::Error runExportParams(const ExportParamsOptions &o);

/// What runTrain has settled when the data is `text:PATH` (TrainText.cpp).
struct TextTrainConfig {
  std::string features, labels; // the ids and next-character inputs
  int64_t batch = 16, epochs = 1, maxSteps = 0; // maxSteps > 0: steps in all at most
  double lr = 1e-3;
  uint64_t seed = 0;
  double compileSeconds = 0;
};
/// Trains a character-level language model on the windows of a text file.
llvm::Error runTrainText(const TrainOptions &o, const ir::Graph &g, rt::Executable &step,
                         rt::Executable &eval, const TextTrainConfig &c);
llvm::Error runInference(const RunOptions &o);
llvm::Error runGrad(const RunOptions &o);
/// Generates text from a trained character-level language model.
llvm::Error runSample(const SampleOptions &o);
llvm::Error runOpt(const OptOptions &o);
llvm::Error runBench(const BenchOptions &o);

/// The class count C of the softmax_cross_entropy that reads graph input
/// `inputName` as labels, or 0 when no loss reads it as labels.
int64_t labelClasses(const ir::Graph &g, llvm::StringRef inputName);
/// Errors on the first label outside [0, classes), naming `where` and the record.
llvm::Error checkLabels(const rt::Tensor &labels, int64_t classes, const std::string &where,
                        const char *what = "label");
/// Picks the features and labels inputs: the training config's, else the
/// first f32 and the first i32 data input.
llvm::Error pickDataInputs(const ir::Graph &g, std::string &features, std::string &labels);
/// The score above which a model's [N, 1] output predicts class 1: 0 when
/// it is the logits of bce_with_logits, else 0.5 (a probability or a step).
float binaryThreshold(const ir::Graph &g);
/// True when input `inputName` holds the ids of an embedding (a table's rows).
bool feedsEmbedding(const ir::Graph &g, llvm::StringRef inputName);

/// An error with a formatted one-line message.
llvm::Error error(const llvm::Twine &msg);

} // namespace gradc::driver
