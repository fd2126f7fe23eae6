//===- tools/gradc/RunCommand.cpp - gradc run and gradc grad --------------===//
//
// Both bind model inputs to .npy files, load params from a directory of .npy
// files, run one compiled step, and write results as .npy: `run` writes the
// model outputs, `grad` the loss and one <param>.grad.npy per trainable param.
// Every input is checked (name, dtype, shape, one batch size for all, label
// range) before anything runs.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "runtime/Npy.h"
#include "runtime/ParamIO.h"
#include "runtime/Session.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

namespace gradc::driver {

namespace {

struct BoundInput {
  std::string file;
  rt::Tensor data;
};

/// Reads every NAME=FILE.npy and checks it against the executable's inputs.
/// Returns the tensors by name and the batch size they agree on.
llvm::Expected<std::pair<llvm::StringMap<BoundInput>, int64_t>>
readInputs(const std::vector<std::string> &specs, const rt::Executable &exe) {
  llvm::StringMap<BoundInput> bound;
  for (const std::string &spec : specs) {
    auto [name, file] = llvm::StringRef(spec).split('=');
    if (name.empty() || file.empty())
      return error("--input '" + spec + "' must look like NAME=FILE.npy");
    if (bound.count(name))
      return error("--input binds '" + name + "' twice");
    auto t = rt::readNpy(file);
    if (!t)
      return t.takeError();
    bound[name] = BoundInput{file.str(), std::move(*t)};
  }
  std::string known;
  int64_t batch = -1;
  std::string batchFrom;
  for (const rt::BufferDesc &b : exe.buffers()) {
    if (b.role != rt::BufferRole::Input)
      continue;
    known += (known.empty() ? "" : ", ") + b.name;
    auto it = bound.find(b.name);
    if (it == bound.end())
      continue;
    const rt::Tensor &t = it->second.data;
    const std::string &file = it->second.file;
    std::string want = std::string(dtypeName(b.dtype)) + shapeToString(b.shape);
    std::string got = std::string(dtypeName(t.dtype())) + shapeToString(t.shape());
    if (t.dtype() != b.dtype || t.shape().size() != b.shape.size())
      return error(file + ": " + got + " does not match input '" + b.name + "' " + want);
    for (size_t i = 0; i < b.shape.size(); ++i) {
      if (b.shape[i] == kBatch) {
        if (batch >= 0 && t.shape()[i] != batch)
          return error(llvm::formatv("{0}: batch size {1} differs from {2} in {3}", file,
                                     t.shape()[i], batch, batchFrom));
        batch = t.shape()[i];
        batchFrom = file;
      } else if (t.shape()[i] != b.shape[i]) {
        return error(file + ": " + got + " does not match input '" + b.name + "' " + want);
      }
    }
  }
  for (const rt::BufferDesc &b : exe.buffers())
    if (b.role == rt::BufferRole::Input && !bound.count(b.name))
      return error("missing --input " + b.name + "=FILE.npy (the model's inputs: " + known +
                   ")");
  for (auto &entry : bound) {
    bool isInput = false;
    for (const rt::BufferDesc &b : exe.buffers())
      isInput |= b.role == rt::BufferRole::Input && b.name == entry.getKey();
    if (!isInput)
      return error("--input " + entry.getKey().str() + ": the model has no such input (" +
                   (known.empty() ? std::string("it has none") : "its inputs: " + known) + ")");
  }
  if (batch == 0)
    return error("the inputs hold no samples (batch size 0)");
  if (batch < 0)
    batch = 1; // no input has a batch dimension
  return std::make_pair(std::move(bound), batch);
}

/// Binds inputs and params to a session for `batch`.
llvm::Error bind(rt::Session &s, llvm::StringMap<BoundInput> &inputs, int64_t batch) {
  if (auto e = s.setBatch(batch))
    return e;
  for (auto &entry : inputs) {
    rt::Tensor *dst = s.find(entry.getKey());
    std::memcpy(dst->data(), entry.second.data.data(), entry.second.data.bytes());
  }
  return llvm::Error::success();
}

llvm::Error writeResult(const std::string &dir, const std::string &name, const rt::Tensor &t) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name + ".npy");
  return rt::writeNpy(path, t);
}

llvm::Error makeDir(const std::string &dir) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return error("cannot create output directory " + dir + ": " + ec.message());
  return llvm::Error::success();
}

llvm::Error runStep(const RunOptions &o, Mode mode) {
  auto g = buildGraph(o.model, mode);
  if (!g)
    return g.takeError();
  auto exe = compile(**g);
  if (!exe)
    return exe.takeError();
  rt::ParamStore params;
  if (auto e = rt::loadParams(o.params, (*exe)->buffers(), params))
    return e;
  auto inputs = readInputs(o.inputs, **exe);
  if (!inputs)
    return inputs.takeError();
  for (auto &entry : inputs->first)
    if (int64_t classes = labelClasses(**g, entry.getKey()))
      if (auto e = checkLabels(entry.second.data, classes, entry.second.file,
                               feedsEmbedding(**g, entry.getKey()) ? "embedding id" : "label"))
        return e;
  rt::Session s(**exe, params);
  if (auto e = bind(s, inputs->first, inputs->second))
    return e;
  if (auto e = s.run())
    return e;
  if (auto e = makeDir(o.outputDir))
    return e;
  for (size_t i = 0; i < s.buffers().size(); ++i) {
    const rt::BufferDesc &b = s.buffers()[i];
    bool wanted = mode == Mode::Infer ? b.role == rt::BufferRole::Output
                                      : (b.role == rt::BufferRole::Loss ||
                                         b.role == rt::BufferRole::Gradient);
    if (!wanted)
      continue;
    std::string name = b.role == rt::BufferRole::Gradient ? b.param + ".grad"
                       : b.role == rt::BufferRole::Loss   ? std::string("loss")
                                                          : b.name;
    if (auto e = writeResult(o.outputDir, name, s.buffer(i)))
      return e;
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error runInference(const RunOptions &o) { return runStep(o, Mode::Infer); }
llvm::Error runGrad(const RunOptions &o) { return runStep(o, Mode::Grad); }

} // namespace gradc::driver
