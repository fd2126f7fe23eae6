//===- tools/gradc/CompileCommand.cpp - gradc compile ---------------------===//
//
// Builds the inference and/or training graph of a model, optionally loads
// the params to embed, has codegen (codegen/Aot.h) produce the object (or
// assembly, or LLVM IR) and the C header, and writes both atomically: each
// goes to a temporary file beside its destination and is renamed into place
// only when everything has succeeded, so a failure leaves no partial output.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "codegen/Aot.h"
#include "codegen/AotLayout.h"
#include "frontend/ModelLoader.h"
#include "ir/BufferLayout.h"
#include "runtime/ParamIO.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc::driver {

namespace {

/// The most threads an object's parallel loops may use (a stack array each).
constexpr unsigned kMaxCompileThreads = 256;

bool isCIdentifier(llvm::StringRef s) {
  if (s.empty() || llvm::isDigit(s[0]))
    return false;
  return llvm::all_of(s, [](char c) { return llvm::isAlnum(c) || c == '_'; });
}

/// The model file's stem as a C identifier: "mlp-mnist.pbtxt" -> "mlp_mnist".
std::string prefixFromPath(llvm::StringRef model) {
  std::string out;
  for (char c : llvm::sys::path::stem(model))
    out += llvm::isAlnum(c) || c == '_' ? c : '_';
  if (out.empty() || llvm::isDigit(out[0]))
    out.insert(out.begin(), 'm');
  return out;
}

/// "12,345" for byte counts.
std::string grouped(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0)
      out += ',';
    out += s[i];
  }
  return out;
}

/// Bytes of what an entry's workspace holds, one buffer each: every input
/// and every node result (params and optimizer state live in their own
/// buffers). fixed + perSample * batch.
std::pair<int64_t, int64_t> naiveWorkspaceBytes(const ir::Graph &g) {
  int64_t fixed = 0, perSample = 0;
  auto count = [&](const ir::Value *v) {
    const Shape &s = v->type().shape;
    int64_t bytes = staticNumel(s) * sizeOf(v->type().dtype);
    (hasBatch(s) ? perSample : fixed) += bytes;
  };
  for (const ir::Value *v : g.inputs())
    count(v);
  for (const auto &n : g.nodes())
    for (const ir::Value *v : n->results())
      count(v);
  return {fixed, perSample};
}

/// `gradc compile --stats`: sizes of what the object needs, and for each
/// entry the workspace plan-memory gives against one buffer per node result.
llvm::Error printStats(const CompileOptions &o, const ir::Graph *infer, const ir::Graph *train,
                       size_t objectBytes) {
  auto layout = codegen::layoutAot(infer, train);
  if (!layout)
    return layout.takeError();
  int64_t batch = (train ? train : infer)->training.batchSize;
  if (batch < 1)
    batch = 1;
  auto &os = llvm::outs();
  os << llvm::formatv("gradc compile: {0}\n", o.model);
  os << llvm::formatv("  {0,-16}{1} bytes ({2})\n", "output", grouped(objectBytes), o.emit);
  os << llvm::formatv("  {0,-16}{1} bytes ({2} tensors); optimizer state {3} bytes\n", "params",
                      grouped(layout->paramsBytes), layout->params.size(),
                      grouped(layout->optStateBytes));
  auto entry = [&](const char *name, const codegen::AotEntry *e) {
    if (!e)
      return;
    auto [nf, np] = naiveWorkspaceBytes(*e->graph);
    int64_t planned = e->workspaceFixed + e->workspacePerSample * batch;
    int64_t naive = nf + np * batch;
    os << llvm::formatv("  {0,-16}{1} + {2} * batch bytes; one buffer per value: {3} + {4} * "
                        "batch\n",
                        std::string(name) + " workspace", grouped(e->workspaceFixed),
                        grouped(e->workspacePerSample), grouped(nf), grouped(np));
    os << llvm::formatv("  {0,-16}at batch {1}: {2} bytes planned, {3:F0}% of {4}\n", "",
                        batch, grouped(planned), 100.0 * double(planned) / double(std::max<int64_t>(naive, 1)),
                        grouped(naive));
  };
  entry("infer", layout->infer.get());
  entry("train", layout->train.get());
  return llvm::Error::success();
}

/// A file being written: a temporary beside `path`, renamed onto it by keep().
class PendingFile {
public:
  static llvm::Expected<PendingFile> create(const std::string &path) {
    auto tmp = llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%");
    if (!tmp)
      return error("cannot write " + path + ": " + llvm::toString(tmp.takeError()));
    return PendingFile(path, std::move(*tmp));
  }
  llvm::Error write(llvm::StringRef data) {
    llvm::raw_fd_ostream os(tmp_->FD, /*shouldClose=*/false);
    os << data;
    os.flush();
    if (os.has_error())
      return error("cannot write " + path_ + ": " + os.error().message());
    return llvm::Error::success();
  }
  llvm::Error keep() {
    if (llvm::Error e = tmp_->keep(path_))
      return error("cannot write " + path_ + ": " + llvm::toString(std::move(e)));
    tmp_.reset();
    return llvm::Error::success();
  }
  ~PendingFile() {
    if (tmp_)
      llvm::consumeError(tmp_->discard());
  }
  PendingFile(PendingFile &&) = default;

private:
  PendingFile(std::string path, llvm::sys::fs::TempFile tmp)
      : path_(std::move(path)), tmp_(std::make_unique<llvm::sys::fs::TempFile>(std::move(tmp))) {}
  std::string path_;
  std::unique_ptr<llvm::sys::fs::TempFile> tmp_;
};

} // namespace

llvm::Error runCompile(const CompileOptions &o) {
  codegen::AotOptions aot;
  if (o.output.empty())
    return error("missing -o FILE (the object file to write)");
  if (o.emit == "obj")
    aot.emit = codegen::AotEmit::Object;
  else if (o.emit == "asm")
    aot.emit = codegen::AotEmit::Assembly;
  else if (o.emit == "llvm")
    aot.emit = codegen::AotEmit::LLVMIR;
  else
    return error("--emit '" + o.emit + "' is not one of obj, asm, llvm");
  if (o.entry != "infer" && o.entry != "train" && o.entry != "both" && !o.entry.empty())
    return error("--entry '" + o.entry + "' is not one of infer, train, both");
  if (o.embedParams && o.params.empty())
    return error("--embed-params needs --params DIR (the directory of <param>.npy files that "
                 "gradc train --save-params writes)");
  if (!o.embedParams && !o.params.empty())
    return error("--params DIR is only read with --embed-params");
  aot.prefix = o.name.empty() ? prefixFromPath(o.model) : o.name;
  if (!isCIdentifier(aot.prefix))
    return error("--name '" + aot.prefix +
                 "' is not a C identifier (letters, digits and '_', not starting with a digit)");
  aot.cpu = o.targetCpu == "native" ? std::string() : o.targetCpu;
  if (o.threads < 1 || o.threads > kMaxCompileThreads)
    return error("--threads must be between 1 and " + std::to_string(kMaxCompileThreads) +
                 ", got " + std::to_string(o.threads));
  aot.threads = o.threads;

  std::unique_ptr<ir::Graph> infer, train;
  if (o.entry != "train") {
    auto g = buildGraph(o.model, Mode::Infer);
    if (!g)
      return g.takeError();
    infer = std::move(*g);
  }
  bool wantTrain = o.entry == "train" || o.entry == "both";
  if (o.entry.empty()) {
    auto model = frontend::loadModelFile(o.model);
    if (!model)
      return model.takeError();
    wantTrain = (*model)->loss != nullptr;
  }
  if (wantTrain) {
    auto g = buildGraph(o.model, Mode::Train);
    if (!g)
      return g.takeError();
    train = std::move(*g);
  }
  aot.infer = infer.get();
  aot.train = train.get();

  rt::ParamStore params;
  if (o.embedParams) {
    const ir::Graph &owner = train ? *train : *infer;
    if (auto e = rt::loadParams(o.params, ir::layoutBuffers(owner).buffers, params))
      return e;
    aot.embeddedParams = &params;
  }
  aot.source = o.model;
  aot.commandLine = o.commandLine;

  auto artifact = codegen::compileAot(aot);
  if (!artifact) {
    std::string msg = llvm::toString(artifact.takeError());
    if (llvm::StringRef(msg).starts_with("unknown target CPU"))
      return error("--target-cpu: " + msg +
                   " (use native, x86-64, x86-64-v3, x86-64-v4 or another CPU LLVM knows)");
    return error(msg);
  }

  // Both files are complete on disk before either replaces its destination.
  auto object = PendingFile::create(o.output);
  if (!object)
    return object.takeError();
  if (auto e = object->write(artifact->object))
    return e;
  std::optional<PendingFile> header;
  if (!o.header.empty()) {
    auto h = PendingFile::create(o.header);
    if (!h)
      return h.takeError();
    header.emplace(std::move(*h));
    if (auto e = header->write(artifact->header))
      return e;
  }
  if (auto e = object->keep())
    return e;
  if (header)
    if (auto e = header->keep()) {
      llvm::sys::fs::remove(o.output);
      return e;
    }
  if (o.stats)
    return printStats(o, infer.get(), train.get(), artifact->object.size());
  return llvm::Error::success();
}

} // namespace gradc::driver
