//===- tools/gradc/TrainLoop.cpp - The epochs of gradc train --------------===//
//
// Each epoch: run the remaining steps (stopping early at --max-steps, saving
// every --checkpoint-every steps), evaluate the dev set with the eval step,
// update early stopping (--patience epochs without a lower dev loss), append
// the epoch to the history, rewrite --log-csv and --plot, print the summary
// line and save a checkpoint. A run stopped by --max-steps in the middle of
// an epoch saves its checkpoint at that position (the partial epoch is logged
// but not recorded in the checkpoint's history), so resuming continues the
// epoch and produces the same history as a run that never stopped.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Progress.h"
#include "runtime/TrainLog.h"
#include "tools/gradc/TrainRun.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <unistd.h>

namespace gradc::driver {

namespace {

llvm::Error writeLogs(const TrainRun &run, const std::vector<rt::EpochRecord> &history) {
  if (!run.opts.logCsv.empty())
    if (auto e = rt::writeCsv(run.opts.logCsv, history))
      return e;
  if (!run.opts.plot.empty())
    if (auto e = rt::writePlot(run.opts.plot, history, run.modelName))
      return e;
  return llvm::Error::success();
}

} // namespace

llvm::Error trainLoop(TrainRun &run) {
  using Clock = std::chrono::steady_clock;
  const TrainOptions &o = run.opts;
  rt::Trainer trainer(*run.step, *run.eval, run.params, run.cfg);
  int64_t perEpoch = trainer.stepsPerEpoch(run.train);
  Progress progress(llvm::outs(), ::isatty(STDOUT_FILENO), o.quiet, run.epochs);
  bool saving = !o.checkpointDir.empty();
  if (!run.history.empty()) // resumed: the logs show the epochs before the stop at once
    if (auto e = writeLogs(run, run.history))
      return e;

  while (run.pos.epoch < run.epochs) {
    if (o.maxSteps > 0 && run.pos.step >= o.maxSteps)
      break;
    if (o.patience > 0 && run.badEpochs >= o.patience)
      break; // a resumed run that had already stopped early
    auto start = Clock::now();
    const int64_t firstSamples = run.pos.samples; // a resumed epoch starts part way
    progress.startEpoch(run.pos.epoch, run.pos.batch, perEpoch, run.cfg.batch);
    auto full = trainer.runEpoch(
        run.train, run.pos, [&](const rt::TrainPosition &p) -> llvm::Expected<bool> {
          progress.step(p);
          if (o.maxSteps > 0 && p.step >= o.maxSteps)
            return true;
          if (saving && o.checkpointEvery > 0 && p.step % o.checkpointEvery == 0 &&
              p.batch < perEpoch)
            if (auto e = saveCheckpoint(run))
              return std::move(e);
          return false;
        });
    if (!full)
      return full.takeError();
    Progress::EpochExtras extras;
    double trainSeconds = std::chrono::duration<double>(Clock::now() - start).count();
    extras.samplesPerSecond =
        trainSeconds > 0 ? static_cast<double>(run.pos.samples - firstSamples) / trainSeconds : 0;

    rt::EpochRecord r;
    r.epoch = run.pos.epoch + 1;
    r.step = run.pos.step;
    r.trainLoss = run.pos.lossSum / static_cast<double>(std::max<int64_t>(run.pos.batch, 1));
    r.trainAcc = rt::hasClassifierOutput(*run.step) && run.pos.samples
                     ? static_cast<double>(run.pos.correct) / run.pos.samples
                     : NAN;
    r.lr = trainer.lrAt(std::max<int64_t>(run.pos.step - 1, 0), perEpoch);
    r.devLoss = r.devAcc = NAN;
    if (!std::isfinite(r.trainLoss))
      return error(llvm::formatv("training diverged in epoch {0}: loss is {1} (try a smaller "
                                 "--lr)",
                                 r.epoch, r.trainLoss));
    if (run.dev) {
      auto ev = trainer.evaluate(*run.dev);
      if (!ev)
        return ev.takeError();
      r.devLoss = ev->loss;
      r.devAcc = ev->accuracy;
    }
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (run.test && !o.quiet) {
      // Shown only, never used to decide anything (the dev set is for that).
      auto ev = trainer.evaluate(*run.test);
      if (!ev)
        return ev.takeError();
      extras.hasTest = true;
      extras.testLoss = ev->loss;
      extras.testAcc = ev->accuracy;
    }

    if (!*full) {
      // Stopped by --max-steps inside the epoch: checkpoint this position,
      // log the partial epoch.
      if (saving)
        if (auto e = saveCheckpoint(run))
          return e;
      std::vector<rt::EpochRecord> logged = run.history;
      logged.push_back(r);
      if (auto e = writeLogs(run, logged))
        return e;
      progress.endEpoch(r, run.dev.has_value(), extras);
      progress.note(llvm::formatv("stopped at --max-steps {0} (epoch {1}, batch {2}/{3})",
                                  o.maxSteps, r.epoch, run.pos.batch, perEpoch)
                        .str());
      return llvm::Error::success();
    }

    if (run.dev) {
      if (r.devLoss < run.bestDevLoss) {
        run.bestDevLoss = r.devLoss;
        run.bestEpoch = r.epoch;
        run.badEpochs = 0;
      } else {
        ++run.badEpochs;
      }
    }
    run.history.push_back(r);
    run.pos = rt::TrainPosition{run.pos.step, run.pos.epoch + 1, 0, 0, 0, 0};
    if (auto e = writeLogs(run, run.history))
      return e;
    if (saving)
      if (auto e = saveCheckpoint(run))
        return e;
    progress.endEpoch(r, run.dev.has_value(), extras);
    if (o.patience > 0 && run.badEpochs >= o.patience) {
      progress.note(llvm::formatv("early stop: the dev loss has not improved for {0} epoch(s) "
                                  "(best {1:F4} at epoch {2})",
                                  run.badEpochs, run.bestDevLoss, run.bestEpoch)
                        .str());
      break;
    }
  }
  return llvm::Error::success();
}

} // namespace gradc::driver
