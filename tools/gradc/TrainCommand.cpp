//===- tools/gradc/TrainCommand.cpp - gradc train -------------------------===//
//
// Sets a run up: compiles the training step (forward, backward, optimizer
// update) and the eval step (forward and loss), loads the data and splits
// off a dev set, resolves the settings (flags override the model's training
// config), initializes the params from the model's seeded initializers
// (optimizer state from zeros) or restores a checkpoint, then hands the run
// to trainLoop (TrainLoop.cpp) and reports the final test accuracy.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Data.h"
#include "tools/gradc/TrainRun.h"

#include "ir/Printer.h"
#include "runtime/Augment.h"
#include "runtime/ParamIO.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <chrono>
#include <cmath>
#include <cstdio>

namespace gradc::driver {

namespace {

/// "0.001", not formatv's fixed "0.00".
std::string shortNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string percent(double fraction) {
  return std::isnan(fraction) ? std::string("n/a") : llvm::formatv("{0:F2}%", 100 * fraction).str();
}

/// The model's schedule with the flags applied; errors name the flag.
llvm::Expected<rt::Schedule> resolveSchedule(const ir::ScheduleConfig &m, const ScheduleFlags &f,
                                             double lr) {
  rt::Schedule s;
  std::string kind = f.kind.value_or(m.kind);
  auto k = rt::parseScheduleKind(kind);
  if (!k)
    return error("--schedule: unknown schedule '" + kind +
                 "' (expected constant, step, exponential, cosine)");
  s.kind = *k;
  s.stepSize = f.stepSize.value_or(m.stepSize);
  s.gamma = f.gamma.value_or(m.gamma);
  s.etaMin = f.etaMin.value_or(m.etaMin);
  s.warmup = f.warmup.value_or(m.warmup);
  std::string unit = f.unit.value_or(m.unit);
  if (unit != "epoch" && unit != "step")
    return error("--schedule-unit must be epoch or step, got '" + unit + "'");
  s.perEpoch = unit == "epoch";
  if (auto e = s.check(lr))
    return error("schedule: " + llvm::toString(std::move(e)));
  return s;
}

/// `--data text:FILE`: a character LM with [N,T] labels, trained by its own
/// loop (TrainText.cpp), which has no dev split of the flags, logs or
/// checkpoints yet: those flags are refused rather than ignored.
llvm::Error trainText(const TrainOptions &o, const ir::Graph &g, const rt::TrainerConfig &cfg,
                      int64_t epochs, double compileSeconds) {
  const std::pair<bool, const char *> unsupported[] = {
      {o.devFraction.has_value(), "--dev-fraction"}, {!o.devData.empty(), "--dev-data"},
      {o.patience > 0, "--patience"},                {!o.augment.empty(), "--augment"},
      {!o.logCsv.empty(), "--log-csv"},              {!o.plot.empty(), "--plot"},
      {!o.checkpointDir.empty(), "--checkpoint-dir"}, {o.resume || !o.resumeFrom.empty(), "--resume"},
      {o.schedule.kind.has_value(), "--schedule"}};
  for (auto [given, flag] : unsupported)
    if (given)
      return error(llvm::Twine(flag) + " is not supported with --data text:FILE yet (the text "
                                       "data has its own dev split)");
  auto t1 = std::chrono::steady_clock::now();
  auto step = compile(g);
  if (!step)
    return step.takeError();
  auto eval = compileEvalStep(o.model);
  if (!eval)
    return eval.takeError();
  compileSeconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  TextTrainConfig tc{cfg.features, cfg.labels, cfg.batch, epochs, o.maxSteps,
                     cfg.lr, cfg.seed, compileSeconds};
  return runTrainText(o, g, **step, **eval, tc);
}

} // namespace

llvm::Error runTrain(const TrainOptions &o) {
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  // Flags first: nothing is compiled or loaded for a run that cannot start.
  if (o.devFraction && !o.devData.empty())
    return error("--dev-fraction and --dev-data exclude each other");
  if (o.devFraction && !(*o.devFraction > 0 && *o.devFraction < 1))
    return error("--dev-fraction must be in (0, 1)");
  if (o.patience < 0 || o.maxSteps < 0 || o.checkpointEvery < 0)
    return error("--patience, --max-steps and --checkpoint-every must not be negative");
  if (o.keep < 1)
    return error("--keep must be at least 1");
  if ((o.resume || o.checkpointEvery) && o.checkpointDir.empty())
    return error(o.resume ? "--resume needs --checkpoint-dir (or name a file: --resume=FILE)"
                          : "--checkpoint-every needs --checkpoint-dir");

  auto stepGraph = buildGraph(o.model, Mode::Train, {}, nullptr, o.optimizer);
  if (!stepGraph)
    return stepGraph.takeError();
  const ir::Graph &g = **stepGraph;
  TrainRun run(o);
  run.modelName = g.name;
  rt::TrainerConfig &cfg = run.cfg;
  cfg.batch = o.batch.value_or(g.training.present ? g.training.batchSize : 32);
  cfg.lr = o.lr.value_or(g.training.present ? g.training.lr : 0.01);
  cfg.seed = o.seed.value_or(g.training.seed);
  run.epochs = o.epochs.value_or(g.training.present ? g.training.epochs : 1);
  if (cfg.batch < 1)
    return error("--batch must be at least 1");
  if (run.epochs < 1)
    return error("--epochs must be at least 1");
  if (!(cfg.lr > 0) || !std::isfinite(cfg.lr))
    return error("--lr must be a positive number");
  auto sched = resolveSchedule(g.training.schedule, o.schedule, cfg.lr);
  if (!sched)
    return sched.takeError();
  cfg.schedule = *sched;
  if (auto e = pickDataInputs(g, cfg.features, cfg.labels))
    return e;
  cfg.binaryThreshold = binaryThreshold(g);
  if (!o.augment.empty()) {
    auto aug = rt::parseAugment(o.augment);
    if (!aug)
      return aug.takeError();
    cfg.augment = *aug;
  }
  if (o.patience > 0 && !o.devFraction && o.devData.empty())
    return error("--patience needs a dev set (--dev-fraction or --dev-data)");

  ir::PrintOptions popts;
  popts.locations = false;
  run.fingerprint = llvm::formatv("{0:x-16}", llvm::xxh3_64bits(ir::graphToString(g, popts)));

  double compileSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!o.checkpointDir.empty() && !o.resume && o.resumeFrom.empty())
    if (auto e = checkFreshCheckpointDir(run))
      return e;

  if (llvm::StringRef(o.data).starts_with("text:"))
    return trainText(o, g, cfg, run.epochs, compileSeconds);

  // Data before code generation: a bad file fails fast.
  auto data = loadData(o.data, DataUse::Train);
  if (!data)
    return data.takeError();
  run.train = std::move(data->main);
  run.test = std::move(data->test);
  if (o.devFraction) {
    auto parts = rt::splitDataset(run.train, *o.devFraction, cfg.seed);
    if (!parts)
      return parts.takeError();
    run.train = std::move(parts->first);
    run.dev = std::move(parts->second);
  } else if (!o.devData.empty()) {
    auto dev = loadData(o.devData, DataUse::Eval);
    if (!dev)
      return dev.takeError();
    run.dev = std::move(dev->main);
  }

  Shape sampleShape(run.train.features.shape().begin() + 1, run.train.features.shape().end());
  if (auto e = rt::checkAugmentable(cfg.augment, sampleShape, run.train.source))
    return e;
  int64_t classes = labelClasses(g, cfg.labels);
  if (classes > 0)
    for (const rt::Dataset *set : {&run.train, run.dev ? &*run.dev : nullptr,
                                   run.test ? &*run.test : nullptr})
      if (set)
        if (auto e = set->validateLabels(classes))
          return e;

  auto t1 = Clock::now();
  auto step = compile(g);
  if (!step)
    return step.takeError();
  run.step = std::move(*step);
  auto eval = compileEvalStep(o.model);
  if (!eval)
    return eval.takeError();
  run.eval = std::move(*eval);
  compileSeconds += std::chrono::duration<double>(Clock::now() - t1).count();

  rt::Trainer probe(*run.step, *run.eval, run.params, cfg);
  if (auto e = probe.check(run.train))
    return e;
  for (const std::optional<rt::Dataset> *set : {&run.dev, &run.test})
    if (*set)
      if (auto e = probe.check(**set))
        return e;
  int64_t perEpoch = probe.stepsPerEpoch(run.train);
  if (perEpoch < 1)
    return error(llvm::formatv("{0}: batch size {1} is larger than the data set ({2} samples)",
                               run.train.source, cfg.batch, run.train.count()));
  // The schedule is planned over --epochs; --max-steps and early stopping
  // stop a run without changing its plan, so a stopped run can be resumed.
  cfg.totalSteps = run.epochs * perEpoch;

  // What a resumed run must repeat to continue the same run.
  std::string dev = o.devFraction ? "fraction " + shortNumber(*o.devFraction)
                                  : o.devData.empty() ? "none" : "file " + o.devData;
  run.settings =
      llvm::formatv("batch={0}\nlr={1}\nschedule={2}\nseed={3}\ndata={4}\ndev={5}\naugment={6}\n",
                    cfg.batch, shortNumber(cfg.lr), cfg.schedule.describe(), cfg.seed, o.data, dev,
                    cfg.augment.describe())
          .str();

  if (auto e = run.params.initialize(run.step->buffers(), cfg.seed))
    return e;
  if (o.resume || !o.resumeFrom.empty())
    if (auto e = resumeRun(run))
      return e;

  auto &os = llvm::outs();
  if (!o.quiet) {
    os << llvm::formatv("gradc: {0}: {1} train", g.name, run.train.count());
    if (run.dev)
      os << " / " << run.dev->count() << " dev";
    if (run.test)
      os << " / " << run.test->count() << " test";
    os << llvm::formatv(" samples, batch {0}, {1} lr {2}, schedule {3}, seed {4}, {5} thread(s); "
                        "compiled in {6:F2} s\n",
                        cfg.batch, g.training.optimizer, shortNumber(cfg.lr),
                        cfg.schedule.describe(), cfg.seed, rt::numThreads(), compileSeconds);
    if (cfg.augment.any())
      os << "augment: " << cfg.augment.describe() << "\n";
    os.flush();
  }
  if (auto e = trainLoop(run))
    return e;

  rt::Trainer trainer(*run.step, *run.eval, run.params, cfg);
  if (run.test) {
    auto ev = trainer.evaluate(*run.test);
    if (!ev)
      return ev.takeError();
    os << "final test accuracy: " << percent(ev->accuracy) << " (" << ev->samples
       << " samples)\n";
  } else if (!run.history.empty()) {
    const rt::EpochRecord &last = run.history.back();
    os << llvm::formatv("final train loss: {0:F4}", last.trainLoss);
    if (run.dev)
      os << "  dev accuracy: " << percent(last.devAcc);
    os << "\n";
  }
  if (!o.saveParams.empty()) {
    if (auto e = rt::saveParams(o.saveParams, run.params))
      return e;
    if (!o.quiet)
      os << "saved params to " << o.saveParams << "\n";
  }
  return llvm::Error::success();
}

} // namespace gradc::driver
