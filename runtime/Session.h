//===- runtime/Session.h - Buffers bound to an Executable --------*- C++ -*-===//
//
// A ParamStore holds the params (by name) shared by every executable of a model
// (the training step and the inference step). A Session binds one Executable to
// storage: params from the store, and its own tensors for every other buffer,
// sized for the current batch.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Executable.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"

#include <map>
#include <memory>
#include <set>

namespace gradc::rt {

class ParamStore {
public:
  /// Creates every Param and OptState buffer of `exe` that is not in the
  /// store yet, filled by its initializer from a generator seeded with
  /// `seed`. Params are initialized in buffer order, each from its own stream
  /// (seed, index among the params); optimizer state is zero-filled.
  llvm::Error initialize(const std::vector<BufferDesc> &bufs, uint64_t seed);
  Tensor *find(llvm::StringRef name);
  const Tensor *find(llvm::StringRef name) const;
  Tensor &set(const std::string &name, Tensor t);
  /// Params and optimizer state, by name.
  const std::map<std::string, Tensor> &all() const { return params_; }
  /// True when `name` was created as optimizer state (BufferRole::OptState).
  bool isOptimizerState(llvm::StringRef name) const { return state_.count(name.str()); }

private:
  std::map<std::string, Tensor> params_;
  std::set<std::string> state_;
};

class Session {
public:
  Session(Executable &exe, ParamStore &params) : exe_(exe), params_(params) {}

  /// (Re)allocates the non-param buffers for `batch` samples. Params must be
  /// present in the store with exactly the declared shapes.
  llvm::Error setBatch(int64_t batch);
  int64_t batch() const { return batch_; }

  /// The tensor bound to buffer `name` (null if none).
  Tensor *find(llvm::StringRef name);
  /// The first buffer with `role` (null if none).
  Tensor *findRole(BufferRole role);
  const std::vector<BufferDesc> &buffers() const { return exe_.buffers(); }
  Tensor &buffer(size_t i);

  llvm::Error run();
  /// Bytes of the arena that holds the memory slots at the current batch.
  uint64_t arenaBytes() const { return arenaBytes_; }

private:
  Executable &exe_;
  ParamStore &params_;
  int64_t batch_ = 0;
  Tensor arena_;                  // memory of the slots; own_ holds views of it
  uint64_t arenaBytes_ = 0;
  std::vector<Tensor> own_;       // non-param buffers, by index
  std::vector<void *> pointers_;  // bound pointers, by index
};

} // namespace gradc::rt
