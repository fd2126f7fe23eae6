//===- runtime/ParamIO.cpp - Params as a directory of .npy files ----------===//
//
// Loading reads every file before touching the store, so a directory with
// one bad file leaves the store as it was.
//
//===----------------------------------------------------------------------===//
#include "runtime/ParamIO.h"

#include "runtime/Npy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

namespace gradc::rt {

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// `dir/<name>.npy`, or an error when `name` is not a plain file name.
static llvm::Expected<std::string> paramPath(llvm::StringRef dir, llvm::StringRef name) {
  bool bad = name.empty() || name == "." || name == ".." ||
             name.find_first_of("/\\") != llvm::StringRef::npos;
  for (unsigned char c : name)
    bad |= c < 0x20 || c == 0x7f;
  if (bad)
    return error("param name '" + name + "' cannot be used as a file name");
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, name + ".npy");
  return std::string(path);
}

llvm::Error saveParams(llvm::StringRef dir, const ParamStore &params) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir))
    return error("cannot create param directory " + dir + ": " + ec.message());
  for (const auto &[name, tensor] : params.all()) {
    if (params.isOptimizerState(name)) // params on disk are model params only
      continue;
    auto path = paramPath(dir, name);
    if (!path)
      return path.takeError();
    if (llvm::Error e = writeNpy(*path, tensor))
      return e;
  }
  return llvm::Error::success();
}

llvm::Error loadParams(llvm::StringRef dir, const std::vector<BufferDesc> &bufs,
                       ParamStore &params) {
  if (!llvm::sys::fs::is_directory(dir))
    return error("param directory " + dir + " does not exist");
  std::vector<std::pair<std::string, Tensor>> loaded;
  for (const BufferDesc &b : bufs) {
    if (b.role != BufferRole::Param)
      continue;
    auto path = paramPath(dir, b.name);
    if (!path)
      return path.takeError();
    if (!llvm::sys::fs::exists(*path))
      return error("missing param file " + *path);
    auto t = readNpy(*path);
    if (!t)
      return t.takeError();
    std::string want = std::string(dtypeName(b.dtype)) + shapeToString(b.shape);
    if (t->shape() != b.shape)
      return error(*path + ": shape " + shapeToString(t->shape()) + " does not match param " +
                   b.name + " " + want);
    if (t->dtype() != b.dtype)
      return error(*path + ": dtype " + dtypeName(t->dtype()) + " does not match param " + b.name +
                   " " + want);
    loaded.emplace_back(b.name, std::move(*t));
  }
  for (auto &[name, t] : loaded)
    params.set(name, std::move(t));
  return llvm::Error::success();
}

} // namespace gradc::rt
