//===- tools/gradc/Driver.h - The gradc subcommands --------------*- C++ -*-===//
//
// main.cpp parses the command line (llvm::cl subcommands) into the option
// structs below and calls one command. Commands return an llvm::Error for
// anything the user can fix; main prints it as one line and exits 1.
//
//===----------------------------------------------------------------------===//
#pragma once

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

/// Loads `modelPath`, applies `flags` to its training config and runs the
/// pass pipeline for `mode` under `inst` (dumps go to stdout).
llvm::Expected<std::unique_ptr<ir::Graph>>
buildGraph(const std::string &modelPath, Mode mode,
           const passes::Instrumentation &inst = {}, bool *stoppedEarly = nullptr,
           const OptimizerFlags &flags = {});

/// JIT-compiles a graph built by buildGraph.
llvm::Expected<std::unique_ptr<rt::Executable>> compile(const ir::Graph &g,
                                                        std::string *llvmIR = nullptr);

struct TrainOptions {
  std::string model;
  std::string data = "mnist";
  std::optional<int64_t> epochs, batch;
  std::optional<double> lr;
  std::optional<uint64_t> seed;
  OptimizerFlags optimizer;
  std::string saveParams;
  bool quiet = false;
  std::optional<int64_t> maxSteps; // text data: at most this many steps per epoch
};

struct RunOptions {
  std::string model;
  std::string params;
  std::vector<std::string> inputs; // NAME=FILE.npy
  std::string outputDir;
};

struct OptOptions {
  std::string model;
  bool train = false;
  passes::Instrumentation inst;
  bool printLLVM = false;
};

llvm::Error runTrain(const TrainOptions &o);

/// What runTrain has settled when the data is `text:PATH` (TrainText.cpp).
struct TextTrainConfig {
  std::string features, labels; // the ids and next-character inputs
  int64_t batch = 16, epochs = 1, maxSteps = 0; // maxSteps > 0: per epoch at most
  double lr = 1e-3;
  uint64_t seed = 0;
  double compileSeconds = 0;
};
/// Trains a character-level language model on the windows of a text file.
llvm::Error runTrainText(const TrainOptions &o, const ir::Graph &g, rt::Executable &step,
                         rt::Executable &eval, const TextTrainConfig &c);
llvm::Error runInference(const RunOptions &o);
llvm::Error runGrad(const RunOptions &o);
llvm::Error runOpt(const OptOptions &o);

/// The class count C of the softmax_cross_entropy that reads graph input
/// `inputName` as labels, or 0 when no loss reads it as labels.
int64_t labelClasses(const ir::Graph &g, llvm::StringRef inputName);
/// Errors on the first label outside [0, classes), naming `where` and the record.
llvm::Error checkLabels(const rt::Tensor &labels, int64_t classes, const std::string &where,
                        const char *what = "label");
/// True when input `inputName` holds the ids of an embedding (a table's rows).
bool feedsEmbedding(const ir::Graph &g, llvm::StringRef inputName);

/// An error with a formatted one-line message.
llvm::Error error(const llvm::Twine &msg);

} // namespace gradc::driver
