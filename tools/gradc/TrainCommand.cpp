//===- tools/gradc/TrainCommand.cpp - gradc train -------------------------===//
//
// Compiles the model twice — the training step (forward, backward, optimizer
// update) and the eval step (forward and loss) — initializes the params from
// the model's seeded initializers (optimizer state from zeros), and trains on
// labelled data, printing one line per epoch (loss, train accuracy, test
// accuracy, samples/s) and the final test accuracy. Flags override the
// model's training config; optimizer flags reach the graph before the
// optimizer pass runs.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "runtime/Dataset.h"
#include "runtime/ParamIO.h"
#include "runtime/Session.h"
#include "runtime/ThreadPool.h"
#include "runtime/Trainer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace gradc::driver {

namespace {

/// The bundled MNIST digits: $GRADC_DATA_DIR/mnist, else the source tree's.
std::string bundledMnistDir() {
  if (const char *env = std::getenv("GRADC_DATA_DIR"))
    return (llvm::Twine(env) + "/mnist").str();
  return GRADC_SOURCE_DIR "/data/mnist";
}

/// Picks the features and labels inputs: the training config's, else the
/// first f32 and the first i32 data input.
llvm::Error pickDataInputs(const ir::Graph &g, std::string &features, std::string &labels) {
  features = g.training.features;
  labels = g.training.labels;
  for (const ir::Value *in : g.inputs()) {
    if (in->role != ir::InputRole::Data)
      continue;
    if (features.empty() && in->type().dtype == DType::F32)
      features = in->name();
    if (labels.empty() && in->type().dtype == DType::I32)
      labels = in->name();
  }
  if (features.empty() || labels.empty())
    return error("cannot tell which inputs take the features and the labels; set "
                 "training { data { features: \"x\" labels: \"y\" } } in the model");
  return llvm::Error::success();
}

/// "0.001", not formatv's fixed "0.00".
std::string shortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string percent(double fraction) {
  return std::isnan(fraction) ? std::string("   n/a") : llvm::formatv("{0:F2}%", 100 * fraction).str();
}

} // namespace

llvm::Error runTrain(const TrainOptions &o) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto stepGraph = buildGraph(o.model, Mode::Train, {}, nullptr, o.optimizer);
  if (!stepGraph)
    return stepGraph.takeError();
  auto evalGraph = buildGraph(o.model, Mode::Eval);
  if (!evalGraph)
    return evalGraph.takeError();
  const ir::Graph &g = **stepGraph;

  rt::TrainerConfig cfg;
  cfg.batch = o.batch.value_or(g.training.present ? g.training.batchSize : 32);
  cfg.lr = o.lr.value_or(g.training.present ? g.training.lr : 0.01);
  cfg.seed = o.seed.value_or(g.training.seed);
  int64_t epochs = o.epochs.value_or(g.training.present ? g.training.epochs : 1);
  if (cfg.batch < 1)
    return error("--batch must be at least 1");
  if (epochs < 1)
    return error("--epochs must be at least 1");
  if (!(cfg.lr > 0) || !std::isfinite(cfg.lr))
    return error("--lr must be a positive number");
  if (auto e = pickDataInputs(g, cfg.features, cfg.labels))
    return e;

  auto step = compile(g);
  if (!step)
    return step.takeError();
  auto eval = compile(**evalGraph);
  if (!eval)
    return eval.takeError();
  double compileSeconds = std::chrono::duration<double>(Clock::now() - t0).count();

  if (llvm::StringRef(o.data).starts_with("text:")) {
    TextTrainConfig tc{cfg.features, cfg.labels, cfg.batch, epochs, o.maxSteps.value_or(0),
                       cfg.lr, cfg.seed, compileSeconds};
    return runTrainText(o, g, **step, **eval, tc);
  }
  std::string dir = o.data == "mnist" ? bundledMnistDir() : o.data;
  auto train = rt::loadMnist(dir, "train");
  if (!train)
    return train.takeError();
  auto test = rt::loadMnist(dir, "test");
  if (!test)
    return test.takeError();
  int64_t classes = labelClasses(g, cfg.labels);
  if (classes > 0) {
    if (auto e = train->validateLabels(classes))
      return e;
    if (auto e = test->validateLabels(classes))
      return e;
  }

  rt::ParamStore params;
  if (auto e = params.initialize((*step)->buffers(), cfg.seed))
    return e;
  rt::Trainer trainer(**step, **eval, params, cfg);
  const rt::Dataset &trainSet = *train, &testSet = *test;
  if (auto e = trainer.check(trainSet))
    return e;
  if (auto e = trainer.check(testSet))
    return e;

  auto &os = llvm::outs();
  if (!o.quiet)
    os << llvm::formatv("gradc: {0}: {1} train / {2} test samples, batch {3}, {4} lr {5}, "
                        "seed {6}, {7} thread(s); compiled in {8:F2} s\n",
                        g.name, trainSet.count(), testSet.count(), cfg.batch,
                        g.training.optimizer, shortNumber(cfg.lr), cfg.seed, rt::numThreads(),
                        compileSeconds);
  rt::EvalStats last;
  for (int64_t e = 0; e < epochs; ++e) {
    auto st = trainer.trainEpoch(trainSet, e);
    if (!st)
      return st.takeError();
    auto ev = trainer.evaluate(testSet);
    if (!ev)
      return ev.takeError();
    last = *ev;
    if (!std::isfinite(st->loss))
      return error(llvm::formatv("training diverged in epoch {0}: loss is {1} (try a smaller "
                                 "--lr)",
                                 e + 1, st->loss));
    if (!o.quiet) {
      os << llvm::formatv("epoch {0,3}/{1}  loss {2:F4}  train acc {3}  test loss {4:F4}  "
                          "test acc {5}  {6:F0} samples/s\n",
                          e + 1, epochs, st->loss, percent(st->accuracy), ev->loss,
                          percent(ev->accuracy), st->samples / st->seconds);
      os.flush();
    }
  }
  os << "final test accuracy: " << percent(last.accuracy) << " (" << last.samples
     << " samples)\n";
  if (!o.saveParams.empty()) {
    if (auto e = rt::saveParams(o.saveParams, params))
      return e;
    if (!o.quiet)
      os << "saved params to " << o.saveParams << "\n";
  }
  return llvm::Error::success();
}

} // namespace gradc::driver
