//===- tools/gradc/SampleCommand.cpp - gradc sample -----------------------===//
//
// Generates text from a trained character-level language model
// (examples/gpt.pbtxt, lstm_lm.pbtxt, gru_lm.pbtxt), one character at a time:
//
//   1. The model's inference step is compiled for batch 1. Its one input
//      holds i32 ids [1, T]; its output the logits [1, T, V].
//   2. The context (the prompt, default "\n": the start of a line) fills
//      positions 0 .. n-1; the rest is padding. For a causal model the
//      logits at position n-1 depend on positions 0 .. n-1 only, so one
//      forward pass gives the next character's distribution. Once the
//      context is longer than T, the last T characters are the window.
//   3. The next id is drawn from softmax(logits / temperature) over the ids
//      of the vocabulary (vocab.tsv, written by `gradc train --data text:`
//      beside the params), with a seeded generator; temperature 0 takes the
//      most likely id.
//
// Causality is checked, not assumed: before sampling, the first context is
// run twice with different padding; if the logits at position n-1 change,
// the model looks ahead and sampling from it would be meaningless.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "runtime/ParamIO.h"
#include "runtime/Session.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace gradc::driver {

namespace {

/// Reads PARAMS/vocab.tsv ("id<TAB>byte<TAB>char" rows, ids dense from 0).
llvm::Expected<std::string> readVocab(const std::string &paramsDir) {
  llvm::SmallString<256> path(paramsDir);
  llvm::sys::path::append(path, "vocab.tsv");
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return error(path + ": cannot read the vocabulary (" + buf.getError().message() +
                 "); gradc train --data text:FILE --save-params DIR writes it");
  llvm::SmallVector<llvm::StringRef, 0> lines;
  (*buf)->getBuffer().split(lines, '\n', -1, false);
  if (lines.empty() || !lines[0].starts_with("id\tbyte"))
    return error(path + ":1: expected the header 'id<TAB>byte<TAB>char'");
  std::string vocab;
  for (size_t i = 1; i < lines.size(); ++i) {
    llvm::SmallVector<llvm::StringRef, 3> cols;
    lines[i].split(cols, '\t');
    unsigned id = 0, byte = 0;
    if (cols.size() < 2 || cols[0].getAsInteger(10, id) || cols[1].getAsInteger(10, byte) ||
        byte > 255)
      return error(llvm::formatv("{0}:{1}: expected 'id<TAB>byte<TAB>char'", path, i + 1));
    if (id != vocab.size())
      return error(llvm::formatv("{0}:{1}: id {2} out of order (expected {3})", path, i + 1,
                                 id, vocab.size()));
    vocab.push_back(static_cast<char>(byte));
  }
  if (vocab.empty())
    return error(path + ": the vocabulary is empty");
  return vocab;
}

/// A uniform double in [0, 1) from 53 random bits (the same on every platform,
/// unlike std::uniform_real_distribution).
double uniform(std::mt19937_64 &rng) { return double(rng() >> 11) * 0x1.0p-53; }

} // namespace

llvm::Error runSample(const SampleOptions &o) {
  if (!(o.temperature >= 0) || !std::isfinite(o.temperature))
    return error(llvm::formatv("--temperature {0}: must be >= 0 (0: always the most likely "
                               "character)",
                               o.temperature));
  if (o.length < 0)
    return error(llvm::formatv("--length {0}: must be >= 0", o.length));
  auto vocab = readVocab(o.params);
  if (!vocab)
    return vocab.takeError();
  auto g = buildGraph(o.model, Mode::Infer);
  if (!g)
    return g.takeError();
  auto exe = compile(**g);
  if (!exe)
    return exe.takeError();

  // The model's shape: one i32 input [N, T], one output [N, T, V].
  const rt::BufferDesc *in = nullptr, *out = nullptr;
  for (const rt::BufferDesc &b : (*exe)->buffers()) {
    if (b.role == rt::BufferRole::Input) {
      if (in)
        return error(o.model + ": gradc sample needs a model with one input (the ids); it "
                               "has '" +
                     in->name + "' and '" + b.name + "'");
      in = &b;
    } else if (b.role == rt::BufferRole::Output && !out) {
      out = &b;
    }
  }
  if (!in || in->dtype != DType::I32 || in->shape.size() != 2 || in->shape[0] != kBatch)
    return error(o.model + ": gradc sample needs an i32 ids input [N, T]");
  int64_t T = in->shape[1];
  if (!out || out->dtype != DType::F32 || out->shape.size() != 3 || out->shape[0] != kBatch ||
      out->shape[1] != T)
    return error(llvm::formatv("{0}: gradc sample needs the model's first output to be the "
                               "logits f32[N, {1}, V]",
                               o.model, T));
  int64_t V = out->shape[2];
  if (int64_t(vocab->size()) > V)
    return error(llvm::formatv("{0}/vocab.tsv has {1} characters but the model has {2} logits",
                               o.params, vocab->size(), V));

  rt::ParamStore params;
  if (auto e = rt::loadParams(o.params, (*exe)->buffers(), params))
    return e;
  rt::Session s(**exe, params);
  if (auto e = s.setBatch(1))
    return e;
  rt::Tensor *ids = s.find(in->name), *logits = s.find(out->name);

  // The context as ids.
  std::string prompt = o.prompt.empty() ? std::string("\n") : o.prompt;
  std::vector<int32_t> context;
  for (char c : prompt) {
    size_t id = vocab->find(c);
    if (id == std::string::npos)
      return error(llvm::formatv("--prompt: the character '{0}' (byte {1}) is not in the "
                                 "model's vocabulary ({2}/vocab.tsv)",
                                 llvm::StringRef(&c, 1), unsigned(static_cast<unsigned char>(c)),
                                 o.params));
    context.push_back(static_cast<int32_t>(id));
  }

  // Runs the model on the last (at most T) ids of the context, padded with
  // `pad`; returns the logits at the last context position.
  auto step = [&](int32_t pad, std::vector<float> &row) -> llvm::Error {
    int64_t n = std::min<int64_t>(T, context.size());
    int32_t *dst = ids->i32();
    for (int64_t t = 0; t < T; ++t)
      dst[t] = t < n ? context[context.size() - n + t] : pad;
    if (auto e = s.run())
      return e;
    const float *src = logits->f32() + (n - 1) * V;
    row.assign(src, src + V);
    return llvm::Error::success();
  };

  std::vector<float> row, other;
  if (int64_t(context.size()) < T) {
    if (auto e = step(0, row))
      return e;
    if (auto e = step(static_cast<int32_t>(vocab->size() - 1), other))
      return e;
    for (int64_t v = 0; v < V; ++v)
      if (std::abs(row[v] - other[v]) > 1e-4f * std::max(1.0f, std::abs(row[v])))
        return error(o.model + ": the model is not causal (its output at a position depends "
                               "on later positions), so it cannot generate text; use causal "
                               "attention (causal: 1)");
  }

  std::mt19937_64 rng(o.seed);
  std::string text;
  std::vector<double> p(vocab->size());
  for (int64_t i = 0; i < o.length; ++i) {
    if (auto e = step(0, row))
      return e;
    size_t pick = 0;
    if (o.temperature == 0) {
      pick = std::max_element(row.begin(), row.begin() + vocab->size()) - row.begin();
    } else {
      double top = *std::max_element(row.begin(), row.begin() + vocab->size()), sum = 0;
      for (size_t v = 0; v < p.size(); ++v)
        sum += p[v] = std::exp((double(row[v]) - top) / o.temperature);
      double u = uniform(rng) * sum;
      pick = p.size() - 1;
      for (size_t v = 0; v < p.size(); ++v) {
        u -= p[v];
        if (u < 0) {
          pick = v;
          break;
        }
      }
    }
    context.push_back(static_cast<int32_t>(pick));
    text.push_back((*vocab)[pick]);
  }
  auto &os = llvm::outs();
  if (!o.prompt.empty())
    os << o.prompt;
  os << text;
  if (text.empty() || text.back() != '\n')
    os << "\n";
  return llvm::Error::success();
}

} // namespace gradc::driver
