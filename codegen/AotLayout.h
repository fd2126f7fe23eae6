//===- codegen/AotLayout.h - Caller buffers of an AOT object ------*- C++ -*-===//
//
// An AOT object's C API takes three caller-owned buffers instead of one
// pointer per value: the params (one contiguous buffer), the optimizer state
// (one buffer) and a workspace (one buffer per batch size). AotLayout says
// where every buffer of every compiled step lives in them:
//
//   params, optimizer state   each tensor at a 64-byte aligned offset, in the
//                             order of the step's buffer list (ir/BufferLayout)
//   workspace                 everything else (members of one memory slot
//                             share a region): inputs (copied in from the
//                             caller's arrays), outputs (copied out), hyper
//                             inputs, the loss, temporaries. Fixed-size
//                             buffers first, then those with the batch
//                             dimension, each batch buffer taking its
//                             per-sample bytes rounded up to 64, so that every
//                             offset is  fixed + perSample * batch  and the
//                             workspace size is linear in the batch.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/BufferLayout.h"
#include "ir/Graph.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc::codegen {

/// Alignment of the params, optimizer-state and workspace buffers and of
/// every tensor inside them.
inline constexpr int64_t kAotAlignment = 64;

/// One tensor of the params or optimizer-state buffer.
struct AotTensor {
  std::string name;
  std::string cName; // name as a C identifier fragment
  DType dtype = DType::F32;
  Shape shape;
  rt::InitSpec init;
  int64_t offset = 0; // bytes from the buffer's start
  int64_t bytes = 0;
  int64_t numel = 0;
};

/// Where one buffer of a step lives.
struct AotSlot {
  enum Kind { Param, OptState, Workspace } kind = Workspace;
  unsigned tensor = 0; // Param, OptState: index into AotLayout's lists
  int64_t fixed = 0;   // Workspace: offset = fixed + perSample * batch
  int64_t perSample = 0;
};

/// One data input or output of an entry point, as the C API passes it.
struct AotArray {
  unsigned buffer = 0; // index in the step's buffer list
  std::string name;
  std::string cName;
  DType dtype = DType::F32;
  Shape shape; // may hold kBatch
};

/// One entry point: a step with its buffer placement.
struct AotEntry {
  const ir::Graph *graph = nullptr;
  ir::BufferLayout layout;
  std::vector<AotSlot> slots;    // by buffer index
  std::vector<AotArray> inputs;  // data inputs some node reads, in graph order
  std::vector<AotArray> outputs; // model outputs (inference only)
  int lossBuffer = -1;           // training: the loss
  int64_t workspaceFixed = 0, workspacePerSample = 0;
  /// The largest batch the entries accept (<PREFIX>_MAX_BATCH): at most
  /// INT32_MAX, and every workspace size and offset fits in int64 with room
  /// to spare. The same for both entries of an object.
  int64_t maxBatch = 0;
};

struct AotLayout {
  std::vector<AotTensor> params, optState;
  int64_t paramsBytes = 0, optStateBytes = 0;
  std::unique_ptr<AotEntry> infer, train; // null when not compiled
};

/// Lays out the buffers of `infer` and/or `train` (types inferred). Both
/// steps must agree on the params; the param list is the training step's
/// when there is one (its order gives each param its initializer stream, as
/// in rt::ParamStore::initialize). Errors: a param or optimizer state with
/// the batch dimension, a buffer with the batch dimension twice, names that
/// collide as C identifiers, a hyper input in an inference step.
llvm::Expected<AotLayout> layoutAot(const ir::Graph *infer, const ir::Graph *train);

/// `name` as a C identifier fragment: letters, digits and '_' kept, every
/// other character '_', a leading digit prefixed with '_'.
std::string cIdentifier(llvm::StringRef name);

} // namespace gradc::codegen
