//===- runtime/Executable.h - What a compiled step looks like ----*- C++ -*-===//
//
// The contract between the compiler and the runtime. A compiled graph (JIT
// code, or the reference interpreter) is an Executable: a list of buffers it
// reads and writes, and run(), which executes one step over them. The runtime
// knows nothing of the graph beyond this description.
//
// Buffer order is fixed by ir/BufferLayout.cpp: inputs, params, then node
// results in schedule order. Shapes may contain kBatch (the runtime batch).
// A step with param updates writes the new param values into the Param
// (and OptState) buffers before run() returns.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc::rt {

enum class BufferRole : uint8_t {
  Input,      // fed by the caller every step (data, labels)
  HyperInput, // fed by the runtime every step (runtime/Hyper.h)
  Param,      // persistent; initialized once, updated by training steps
  OptState,   // persistent optimizer state (momentum, Adam moments): like a
              // Param, but not a model param (never saved with them)
  Gradient,   // d(loss)/d(param), readable after a step
  Output,     // a model output
  Loss,       // the scalar loss
  Temp,       // intermediate
};
const char *roleName(BufferRole r);

/// How a param is initialized (mirrors gradc.proto's Initializer).
struct InitSpec {
  std::string kind = "zeros";
  double value = 0, mean = 0, std = 0, low = 0, high = 0, gain = 0;
};

/// The optimizer constants the runtime needs to compute hyper inputs.
struct OptimizerSettings {
  double beta1 = 0.9, beta2 = 0.999, weightDecay = 0;
};

/// True for the buffers that live in a ParamStore across steps.
inline bool isPersistent(BufferRole r) {
  return r == BufferRole::Param || r == BufferRole::OptState;
}

struct BufferDesc {
  std::string name; // the IR value's name
  BufferRole role = BufferRole::Temp;
  DType dtype = DType::F32;
  Shape shape;        // may contain kBatch
  std::string param;  // Gradient: the param it belongs to
  InitSpec init;      // Param, OptState: its initializer
  bool trainable = true;
  HyperKind hyper = HyperKind::LearningRate; // HyperInput: what to feed
  OptimizerSettings optimizer{};             // HyperInput: constants for it
  /// Temp buffers of one memory slot (the plan-memory pass) share memory:
  /// their lifetimes never overlap. -1: a buffer of its own.
  int32_t slot = -1;
};

class Executable {
public:
  virtual ~Executable() = default;
  virtual const std::vector<BufferDesc> &buffers() const = 0;
  /// Runs one step. bufs[i] points at buffer i, sized for `batch`.
  virtual llvm::Error run(void *const *bufs, int64_t batch) = 0;
};

} // namespace gradc::rt
