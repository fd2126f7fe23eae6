//===- runtime/Session.cpp - Buffers bound to an Executable ---------------===//
//
// A Session owns one tensor per non-param buffer, sized for the current
// batch, and borrows the params from a ParamStore. Buffers of a memory slot
// (BufferDesc::slot) are views into one arena, each slot placed once. Param pointers are bound
// again before every step: the store may have been refilled (loadParams,
// ParamStore::set) since setBatch, and a stale pointer must never reach
// compiled code. The check is a map lookup per param, noise next to a step.
//
//===----------------------------------------------------------------------===//
#include "runtime/Session.h"

#include "runtime/Initializers.h"
#include "runtime/Rng.h"

#include "llvm/Support/FormatVariadic.h"

#include <cassert>

namespace gradc::rt {

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

static std::string typeText(DType dt, const Shape &s) {
  return std::string(dtypeName(dt)) + shapeToString(s);
}

const char *roleName(BufferRole r) {
  switch (r) {
  case BufferRole::Input:
    return "input";
  case BufferRole::HyperInput:
    return "hyper";
  case BufferRole::Param:
    return "param";
  case BufferRole::OptState:
    return "optimizer state";
  case BufferRole::Gradient:
    return "gradient";
  case BufferRole::Output:
    return "output";
  case BufferRole::Loss:
    return "loss";
  case BufferRole::Temp:
    return "temp";
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// ParamStore
//===----------------------------------------------------------------------===//

llvm::Error ParamStore::initialize(const std::vector<BufferDesc> &bufs, uint64_t seed) {
  uint64_t index = 0; // position among the params: the stream of each
  for (const BufferDesc &b : bufs) {
    if (!isPersistent(b.role))
      continue;
    if (b.role == BufferRole::OptState)
      state_.insert(b.name);
    // Optimizer state takes no stream: adding an optimizer must not change
    // how the params are initialized.
    uint64_t stream = b.role == BufferRole::Param ? index++ : 0;
    if (params_.count(b.name))
      continue;
    std::string what = roleName(b.role) + std::string(" '") + b.name + "'";
    if (hasBatch(b.shape))
      return error(what + ": shape " + shapeToString(b.shape) +
                   " has the batch dimension N; params have fixed shapes");
    auto t = Tensor::create(b.dtype, b.shape, what);
    if (!t)
      return t.takeError();
    Rng rng(seed, stream);
    if (llvm::Error e = initializeTensor(*t, b.init, rng, what))
      return e;
    params_.emplace(b.name, std::move(*t));
  }
  return llvm::Error::success();
}

Tensor *ParamStore::find(llvm::StringRef name) {
  auto it = params_.find(name.str());
  return it == params_.end() ? nullptr : &it->second;
}

const Tensor *ParamStore::find(llvm::StringRef name) const {
  auto it = params_.find(name.str());
  return it == params_.end() ? nullptr : &it->second;
}

Tensor &ParamStore::set(const std::string &name, Tensor t) {
  Tensor &slot = params_[name];
  slot = std::move(t);
  return slot;
}

//===----------------------------------------------------------------------===//
// Session
//===----------------------------------------------------------------------===//

/// Points every Param buffer at its tensor in the store, checking it is there
/// with exactly the declared type.
static llvm::Error bindParams(const std::vector<BufferDesc> &bufs, ParamStore &store,
                              std::vector<void *> &pointers) {
  for (size_t i = 0; i < bufs.size(); ++i) {
    const BufferDesc &b = bufs[i];
    if (!isPersistent(b.role))
      continue;
    Tensor *t = store.find(b.name);
    if (!t)
      return error("param '" + b.name +
                   "' has no value (initialize or load the params "
                   "first)");
    if (t->dtype() != b.dtype || t->shape() != b.shape || t->empty())
      return error("param '" + b.name + "' holds " + typeText(t->dtype(), t->shape()) +
                   " but the executable declares " + typeText(b.dtype, b.shape));
    pointers[i] = t->data();
  }
  return llvm::Error::success();
}

llvm::Error Session::setBatch(int64_t batch) {
  if (batch < 1)
    return error(llvm::formatv("batch size must be at least 1, got {0}", batch));
  const std::vector<BufferDesc> &bufs = exe_.buffers();
  if (batch != batch_ || own_.size() != bufs.size()) {
    // Allocate everything first so that a failure leaves no half-sized session.
    auto what = [&](const BufferDesc &b) {
      return std::string(roleName(b.role)) + " '" + b.name + "'";
    };
    // Memory slots first: each is as large as its largest member at this
    // batch, 64-byte aligned, one after another in one arena.
    std::vector<uint64_t> slotBytes;
    for (const BufferDesc &b : bufs) {
      if (b.slot < 0)
        continue;
      auto n = numelFor(b.shape, batch);
      if (!n || *n > kMaxTensorBytes / static_cast<int64_t>(sizeOf(b.dtype)))
        return error(what(b) + ": shape " + shapeToString(bindBatch(b.shape, batch)) +
                     " is too large");
      if (static_cast<size_t>(b.slot) >= slotBytes.size())
        slotBytes.resize(b.slot + 1, 0);
      uint64_t bytes = (static_cast<uint64_t>(*n) * sizeOf(b.dtype) + 63) / 64 * 64;
      slotBytes[b.slot] = std::max(slotBytes[b.slot], bytes);
    }
    std::vector<uint64_t> slotOffset(slotBytes.size(), 0);
    uint64_t arenaBytes = 0;
    for (size_t s = 0; s < slotBytes.size(); ++s) {
      slotOffset[s] = arenaBytes;
      arenaBytes += slotBytes[s];
    }
    Tensor arena;
    if (arenaBytes) {
      auto t = Tensor::create(DType::F32, {static_cast<int64_t>(arenaBytes / 4)},
                              "the memory arena");
      if (!t)
        return t.takeError();
      arena = std::move(*t);
    }
    std::vector<Tensor> own(bufs.size());
    for (size_t i = 0; i < bufs.size(); ++i) {
      const BufferDesc &b = bufs[i];
      if (isPersistent(b.role))
        continue;
      if (b.slot >= 0) {
        own[i] = Tensor::view(b.dtype, bindBatch(b.shape, batch),
                              static_cast<char *>(arena.data()) + slotOffset[b.slot]);
        continue;
      }
      auto t = Tensor::create(b.dtype, bindBatch(b.shape, batch), what(b));
      if (!t)
        return t.takeError();
      own[i] = std::move(*t);
    }
    own_ = std::move(own);
    arena_ = std::move(arena);
    arenaBytes_ = arenaBytes;
    pointers_.assign(bufs.size(), nullptr);
    for (size_t i = 0; i < bufs.size(); ++i)
      if (!isPersistent(bufs[i].role))
        pointers_[i] = own_[i].data();
    batch_ = batch;
  }
  if (llvm::Error e = bindParams(bufs, params_, pointers_)) {
    batch_ = 0; // not runnable until a later setBatch succeeds
    return e;
  }
  return llvm::Error::success();
}

Tensor *Session::find(llvm::StringRef name) {
  const std::vector<BufferDesc> &bufs = exe_.buffers();
  for (size_t i = 0; i < bufs.size(); ++i)
    if (bufs[i].name == name)
      return isPersistent(bufs[i].role) ? params_.find(name)
             : i < own_.size()                 ? &own_[i]
                                               : nullptr;
  return nullptr;
}

Tensor *Session::findRole(BufferRole role) {
  for (const BufferDesc &b : exe_.buffers())
    if (b.role == role)
      return find(b.name);
  return nullptr;
}

Tensor &Session::buffer(size_t i) {
  const std::vector<BufferDesc> &bufs = exe_.buffers();
  assert(i < bufs.size() && "buffer index out of range");
  if (isPersistent(bufs[i].role)) {
    Tensor *t = params_.find(bufs[i].name);
    assert(t && "param buffer not in the store");
    return *t;
  }
  assert(i < own_.size() && "Session::buffer before setBatch");
  return own_[i];
}

llvm::Error Session::run() {
  if (batch_ < 1)
    return error("cannot run a step before setBatch has succeeded");
  if (llvm::Error e = bindParams(exe_.buffers(), params_, pointers_))
    return e;
  return exe_.run(pointers_.data(), batch_);
}

} // namespace gradc::rt
