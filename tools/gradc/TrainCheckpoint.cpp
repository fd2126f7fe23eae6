//===- tools/gradc/TrainCheckpoint.cpp - Saving and resuming a run --------===//
//
// Resume policy: --resume takes the newest checkpoint of --checkpoint-dir
// that reads back intact, skipping damaged ones with a warning (the atomic
// save makes them rare: a failing disk, a hand-edited file); --resume=FILE
// takes exactly that file and refuses it if it is damaged. Either way a
// checkpoint of another model or with other settings is refused, and
// nothing is written before the checkpoint has been fully checked. A fresh
// run refuses a directory that already holds checkpoints, so old ones are
// never pruned by mistake.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/TrainRun.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

namespace gradc::driver {

llvm::Error saveCheckpoint(TrainRun &run) {
  rt::CheckpointState c;
  c.fingerprint = run.fingerprint;
  c.settings = run.settings;
  c.pos = run.pos;
  c.bestDevLoss = run.bestDevLoss;
  c.badEpochs = run.badEpochs;
  c.bestEpoch = run.bestEpoch;
  c.history = run.history;
  for (const auto &[name, t] : run.params.all())
    (run.params.isOptimizerState(name) ? c.state : c.params)[name] = t;
  const std::string &dir = run.opts.checkpointDir;
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return error(dir + ": cannot create the checkpoint directory: " + ec.message());
  if (auto e = rt::writeCheckpoint(rt::checkpointPath(dir, run.pos.step), c))
    return e;
  return rt::pruneCheckpoints(dir, run.opts.keep);
}

llvm::Error checkFreshCheckpointDir(const TrainRun &run) {
  auto found = rt::listCheckpoints(run.opts.checkpointDir);
  if (!found)
    return found.takeError();
  if (!found->empty())
    return error(run.opts.checkpointDir + " already holds checkpoints (newest " +
                 found->back() +
                 "); pass --resume to continue that run, or choose an empty directory");
  return llvm::Error::success();
}

namespace {

std::map<std::string, std::string> settingsMap(llvm::StringRef text) {
  std::map<std::string, std::string> m;
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n', -1, false);
  for (llvm::StringRef l : lines) {
    auto [k, v] = l.split('=');
    m[k.str()] = v.str();
  }
  return m;
}

/// The checkpoint must come from this model and these settings.
llvm::Error checkCompatible(const TrainRun &run, const rt::CheckpointState &c,
                            const std::string &path) {
  if (c.fingerprint != run.fingerprint)
    return error(path + ": the checkpoint was saved by a different model or optimizer "
                        "(fingerprint " +
                 c.fingerprint + ", this model " + run.fingerprint + ")");
  auto saved = settingsMap(c.settings), now = settingsMap(run.settings);
  for (const auto &[key, value] : now) {
    auto it = saved.find(key);
    std::string was = it == saved.end() ? "(unset)" : it->second;
    if (was != value)
      return error(path + ": the checkpoint was saved with " + key + " " + was +
                   ", this run has " + key + " " + value +
                   " (resume with the same settings)");
  }
  // Every persistent buffer, exactly.
  size_t expected = 0;
  for (const rt::BufferDesc &b : run.step->buffers()) {
    if (!rt::isPersistent(b.role))
      continue;
    ++expected;
    bool isState = b.role == rt::BufferRole::OptState;
    const auto &from = isState ? c.state : c.params;
    auto it = from.find(b.name);
    if (it == from.end())
      return error(path + ": the checkpoint lacks " + (isState ? "optimizer state '" : "param '") +
                   b.name + "'");
    if (it->second.dtype() != b.dtype || it->second.shape() != b.shape)
      return error(llvm::formatv("{0}: '{1}' is {2}{3} in the checkpoint, the model has {4}{5}",
                                 path, b.name, dtypeName(it->second.dtype()),
                                 shapeToString(it->second.shape()), dtypeName(b.dtype),
                                 shapeToString(b.shape)));
  }
  if (c.params.size() + c.state.size() != expected)
    return error(path + ": the checkpoint holds tensors this model does not have");
  int64_t perEpoch = run.train.count() / run.cfg.batch;
  if (c.pos.batch > perEpoch)
    return error(llvm::formatv("{0}: the checkpoint is at batch {1} of an epoch, but an epoch "
                               "has {2}",
                               path, c.pos.batch, perEpoch));
  return llvm::Error::success();
}

} // namespace

llvm::Error resumeRun(TrainRun &run) {
  const TrainOptions &o = run.opts;
  std::optional<rt::CheckpointState> chosen;
  std::string path;
  if (!o.resumeFrom.empty()) {
    path = o.resumeFrom;
    auto c = rt::readCheckpoint(path);
    if (!c)
      return c.takeError();
    chosen = std::move(*c);
  } else {
    auto found = rt::listCheckpoints(o.checkpointDir);
    if (!found)
      return found.takeError();
    if (found->empty())
      return error("--resume: " + o.checkpointDir + " holds no checkpoint to resume from");
    for (auto it = found->rbegin(); it != found->rend() && !chosen; ++it) {
      auto c = rt::readCheckpoint(*it);
      if (!c) {
        llvm::errs() << "gradc: warning: skipping checkpoint: " << llvm::toString(c.takeError())
                     << "\n";
        continue;
      }
      path = *it;
      chosen = std::move(*c);
    }
    if (!chosen)
      return error("--resume: " + o.checkpointDir + " holds no valid checkpoint");
  }
  if (auto e = checkCompatible(run, *chosen, path))
    return e;
  for (auto *from : {&chosen->params, &chosen->state})
    for (auto &[name, t] : *from)
      run.params.set(name, std::move(t));
  run.pos = chosen->pos;
  run.bestDevLoss = chosen->bestDevLoss;
  run.badEpochs = chosen->badEpochs;
  run.bestEpoch = chosen->bestEpoch;
  run.history = std::move(chosen->history);
  if (!o.quiet)
    llvm::outs() << llvm::formatv("resumed from {0}: epoch {1}, batch {2}, step {3}\n", path,
                                  run.pos.epoch + 1, run.pos.batch, run.pos.step);
  return llvm::Error::success();
}

} // namespace gradc::driver
