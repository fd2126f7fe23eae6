//===- tools/gradc/TrainText.cpp - Training on text: `--data text:PATH` ----===//
//
// Character-level language models (examples/lstm_lm.pbtxt) train on windows
// of a text file (runtime/TextData.h): the features input takes i32 ids
// [N, T], the labels input the next characters [N, T]. T is the features
// input's second dimension; the model's vocabulary is the row count of the
// embedding table the ids index (or the class count of the loss). Each
// epoch visits the training windows in a seeded shuffle (full batches only),
// then the dev loss per character is the mean cross-entropy over every dev
// position (all dev windows in one eval step), printed against log(vocab),
// the loss of a uniform guess.
//
// Kept apart from the image loop in TrainCommand.cpp / runtime/Trainer.cpp:
// the labels here are [N, T], not one class per sample.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "runtime/Dataset.h"
#include "runtime/Hyper.h"
#include "runtime/ParamIO.h"
#include "runtime/Session.h"
#include "runtime/TextData.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstring>

namespace gradc::driver {

namespace {

const rt::BufferDesc *findInput(const rt::Executable &exe, const std::string &name) {
  for (const rt::BufferDesc &b : exe.buffers())
    if (b.name == name && b.role == rt::BufferRole::Input)
      return &b;
  return nullptr;
}

/// Copies windows order[first .. first + n) into the session's inputs.
void fill(const rt::TextWindows &w, const std::vector<int64_t> &order, int64_t first,
          int64_t n, rt::Tensor &ids, rt::Tensor &next) {
  int64_t T = w.ids.shape()[1];
  for (int64_t i = 0; i < n; ++i) {
    int64_t src = order[first + i];
    std::memcpy(ids.i32() + i * T, w.ids.i32() + src * T, T * sizeof(int32_t));
    std::memcpy(next.i32() + i * T, w.next.i32() + src * T, T * sizeof(int32_t));
  }
}

/// Writes the vocabulary (id -> byte) beside the saved params, so ids in
/// and out of the model can be mapped back to characters.
llvm::Error writeVocab(const std::string &dir, const std::string &vocab) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "vocab.tsv");
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  if (ec)
    return error("cannot write " + path.str() + ": " + ec.message());
  out << "id\tbyte\tchar\n";
  for (size_t id = 0; id < vocab.size(); ++id) {
    unsigned char c = static_cast<unsigned char>(vocab[id]);
    out << id << "\t" << unsigned(c) << "\t";
    if (c == '\n')
      out << "\\n";
    else if (c == '\t')
      out << "\\t";
    else if (c >= 32 && c < 127)
      out << vocab[id];
    out << "\n";
  }
  out.close();
  if (out.has_error())
    return error("cannot write " + path.str() + ": " + out.error().message());
  return llvm::Error::success();
}


} // namespace

llvm::Error runTrainText(const TrainOptions &o, const ir::Graph &g, rt::Executable &step,
                         rt::Executable &eval, const TextTrainConfig &c) {
  std::string path = o.data.substr(std::strlen("text:"));
  const rt::BufferDesc *x = findInput(step, c.features), *y = findInput(step, c.labels);
  if (!x || !y || x->dtype != DType::I32 || y->dtype != DType::I32 || x->shape.size() != 2 ||
      x->shape[0] != kBatch || x->shape[1] == kBatch || y->shape != x->shape)
    return error(llvm::formatv("--data text: needs i32 inputs [N, T] for the ids ('{0}') "
                               "and the next characters ('{1}')",
                               c.features, c.labels));
  int64_t vocab = labelClasses(g, c.features);
  if (int64_t classes = labelClasses(g, c.labels))
    vocab = vocab ? std::min(vocab, classes) : classes;
  if (vocab <= 0)
    return error("--data text: cannot tell the model's vocabulary size: the ids input must "
                 "feed an embedding or the labels a cross-entropy loss");
  auto data = rt::loadTextData(path, x->shape[1], vocab);
  if (!data)
    return data.takeError();
  int64_t count = data->train.count(), batch = c.batch;
  if (batch > count)
    return error(llvm::formatv("{0}: batch size {1} is larger than the training split ({2} "
                               "windows)",
                               path, batch, count));

  rt::ParamStore params;
  if (auto e = params.initialize(step.buffers(), c.seed))
    return e;
  rt::Session s(step, params);
  if (auto e = s.setBatch(batch))
    return e;
  rt::Session ev(eval, params);
  if (auto e = ev.setBatch(data->dev.count()))
    return e;
  rt::Tensor *ids = s.find(c.features), *next = s.find(c.labels);
  rt::Tensor *loss = s.findRole(rt::BufferRole::Loss);
  rt::Tensor *devIds = ev.find(c.features), *devNext = ev.find(c.labels);
  rt::Tensor *devLoss = ev.findRole(rt::BufferRole::Loss);
  if (!ids || !next || !loss || !devIds || !devNext || !devLoss)
    return error("the training and eval steps must read the ids and next characters and "
                 "compute the loss");
  std::vector<int64_t> identity(data->dev.count());
  for (size_t i = 0; i < identity.size(); ++i)
    identity[i] = static_cast<int64_t>(i);
  fill(data->dev, identity, 0, data->dev.count(), *devIds, *devNext);

  auto &os = llvm::outs();
  const double uniform = std::log(double(vocab));
  if (!o.quiet)
    os << llvm::formatv("gradc: {0}: {1}: {2} train / {3} dev windows of {4} characters, "
                        "{5} symbols used of vocabulary {6}, batch {7}, {8} lr {9:e}, seed {10}, "
                        "{11} thread(s); compiled in {12:F2} s\n",
                        g.name, path, count, data->dev.count(), x->shape[1],
                        data->vocab.size(), vocab, batch, g.training.optimizer, c.lr, c.seed,
                        rt::numThreads(), c.compileSeconds);
  double devPerChar = NAN;
  int64_t stepCount = 0;
  for (int64_t e = 0; e < c.epochs; ++e) {
    auto start = std::chrono::steady_clock::now();
    std::vector<int64_t> order = rt::shuffledOrder(count, c.seed, e);
    int64_t steps = count / batch;
    if (c.maxSteps > 0)
      steps = std::min(steps, c.maxSteps - stepCount); // --max-steps counts every epoch
    if (steps <= 0)
      break;
    double total = 0;
    for (int64_t b = 0; b < steps; ++b) {
      fill(data->train, order, b * batch, batch, *ids, *next);
      if (auto err = rt::feedHyperInputs(s, c.lr, stepCount + 1))
        return err;
      if (auto err = s.run())
        return err;
      ++stepCount;
      total += loss->f32()[0];
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (auto err = ev.run())
      return err;
    devPerChar = devLoss->f32()[0];
    double trainLoss = total / double(std::max<int64_t>(steps, 1));
    if (!std::isfinite(trainLoss))
      return error(llvm::formatv("training diverged in epoch {0}: loss is {1} (try a smaller "
                                 "--lr)",
                                 e + 1, trainLoss));
    if (!o.quiet) {
      os << llvm::formatv("epoch {0,3}/{1}  loss {2:F4}  dev loss/char {3:F4}  "
                          "(log vocab {4:F4})  {5:F0} windows/s\n",
                          e + 1, c.epochs, trainLoss, devPerChar, uniform,
                          steps * batch / std::max(seconds, 1e-9));
      os.flush();
    }
  }
  os << llvm::formatv("final dev loss per character: {0:F4} (log({1}) = {2:F4})\n", devPerChar,
                      vocab, uniform);
  if (!o.saveParams.empty()) {
    if (auto e = rt::saveParams(o.saveParams, params))
      return e;
    if (auto e = writeVocab(o.saveParams, data->vocab))
      return e;
    if (!o.quiet)
      os << "saved params and vocab.tsv to " << o.saveParams << "\n";
  }
  return llvm::Error::success();
}

} // namespace gradc::driver
