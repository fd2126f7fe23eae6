//===- codegen/AotLayout.cpp - Caller buffers of an AOT object ------------===//
//
// Algorithm: walk the training step's buffers (else the inference step's)
// and give every Param and OptState buffer the next 64-byte aligned offset
// in its buffer. Then, per step, place every other buffer in the workspace,
// the members of one memory slot (plan-memory) in one region: fixed-size
// regions first, packed at 64-byte aligned offsets, then the regions with a
// batch part, each at  fixed + perSample * batch  (the sums over the
// regions before it).
//
//===----------------------------------------------------------------------===//
#include "codegen/AotLayout.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <algorithm>
#include <limits>

namespace gradc::codegen {

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

int64_t alignUp(int64_t v) { return (v + kAotAlignment - 1) / kAotAlignment * kAotAlignment; }

/// Bytes of `shape` without its batch dimension, and how often N occurs.
std::pair<int64_t, int> bytesPerSample(DType dt, const Shape &shape) {
  int64_t n = sizeOf(dt);
  int batchDims = 0;
  for (int64_t d : shape) {
    if (d == kBatch)
      ++batchDims;
    else
      n *= d;
  }
  return {n, batchDims};
}

llvm::Error layoutEntry(AotEntry &e, const AotLayout &l, const char *what) {
  llvm::StringMap<unsigned> paramIndex, stateIndex;
  for (unsigned i = 0; i < l.params.size(); ++i)
    paramIndex[l.params[i].name] = i;
  for (unsigned i = 0; i < l.optState.size(); ++i)
    stateIndex[l.optState[i].name] = i;

  std::vector<bool> read(e.layout.buffers.size(), false);
  for (const auto &n : e.graph->nodes())
    for (const ir::Value *v : n->inputs())
      if (auto it = e.layout.index.find(v); it != e.layout.index.end())
        read[it->second] = true; // (a value internal to a fusion group has none)

  const std::vector<rt::BufferDesc> &bufs = e.layout.buffers;
  e.slots.assign(bufs.size(), AotSlot{});
  // Workspace regions: one per buffer, or one per memory slot for all its
  // members (plan-memory), each  fixedBytes + perSampleBytes * batch  large:
  // the largest of its members' fixed and per-sample parts.
  struct Region {
    int64_t fixed = 0, perSample = 0;
    std::vector<unsigned> buffers;
  };
  std::vector<Region> regions;
  std::vector<int> regionOfSlot;
  for (unsigned i = 0; i < bufs.size(); ++i) {
    const rt::BufferDesc &b = bufs[i];
    AotSlot &s = e.slots[i];
    if (rt::isPersistent(b.role)) {
      auto &index = b.role == rt::BufferRole::Param ? paramIndex : stateIndex;
      auto it = index.find(b.name);
      if (it == index.end())
        return error(llvm::Twine("the ") + what + " step has " + rt::roleName(b.role) + " '" +
                     b.name + "', which the training step does not have");
      s.kind = b.role == rt::BufferRole::Param ? AotSlot::Param : AotSlot::OptState;
      s.tensor = it->second;
      continue;
    }
    auto [bytes, batchDims] = bytesPerSample(b.dtype, b.shape);
    if (batchDims > 1)
      return error(rt::roleName(b.role) + std::string(" '") + b.name + "' has shape " +
                   shapeToString(b.shape) +
                   ": gradc compile supports the batch dimension N at most once per tensor");
    Region *r;
    if (b.slot >= 0) {
      if (static_cast<size_t>(b.slot) >= regionOfSlot.size())
        regionOfSlot.resize(b.slot + 1, -1);
      if (regionOfSlot[b.slot] < 0) {
        regionOfSlot[b.slot] = static_cast<int>(regions.size());
        regions.emplace_back();
      }
      r = &regions[regionOfSlot[b.slot]];
    } else {
      regions.emplace_back();
      r = &regions.back();
    }
    r->buffers.push_back(i);
    (batchDims ? r->perSample : r->fixed) =
        std::max(batchDims ? r->perSample : r->fixed, alignUp(bytes));
    if (b.role == rt::BufferRole::Input && read[i])
      e.inputs.push_back(AotArray{i, b.name, cIdentifier(b.name), b.dtype, b.shape});
    if (b.role == rt::BufferRole::Output)
      e.outputs.push_back(AotArray{i, b.name, cIdentifier(b.name), b.dtype, b.shape});
    if (b.role == rt::BufferRole::Loss)
      e.lossBuffer = int(i);
  }
  // Regions without a batch part first, then the others: every offset is
  // fixed + perSample * batch, and region k ends where region k+1 begins.
  std::stable_partition(regions.begin(), regions.end(),
                        [](const Region &r) { return r.perSample == 0; });
  int64_t fixed = 0, perSample = 0;
  for (const Region &r : regions) {
    for (unsigned i : r.buffers) {
      e.slots[i].fixed = fixed;
      e.slots[i].perSample = perSample;
    }
    fixed += r.fixed;
    perSample += r.perSample;
  }
  e.workspaceFixed = fixed;
  e.workspacePerSample = perSample;
  const int64_t limit = std::numeric_limits<int64_t>::max() / 2; // headroom for size_t math
  e.maxBatch = perSample == 0 ? std::numeric_limits<int32_t>::max()
                              : std::min<int64_t>((limit - fixed) / perSample,
                                                  std::numeric_limits<int32_t>::max());

  // Inputs and outputs become C parameters: their names must stay distinct.
  llvm::StringSet<> names;
  for (const auto *list : {&e.inputs, &e.outputs})
    for (const AotArray &a : *list)
      if (!names.insert(a.cName).second)
        return error("the " + std::string(what) + " step's arrays '" + a.name +
                     "' and another one have the same C name '" + a.cName + "'");
  return llvm::Error::success();
}

} // namespace

std::string cIdentifier(llvm::StringRef name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) || c == '_' ? c : '_';
  if (out.empty() || llvm::isDigit(out[0]))
    out.insert(out.begin(), '_');
  return out;
}

llvm::Expected<AotLayout> layoutAot(const ir::Graph *infer, const ir::Graph *train) {
  assert((infer || train) && "nothing to lay out");
  AotLayout l;
  if (infer) {
    l.infer = std::make_unique<AotEntry>();
    l.infer->graph = infer;
    l.infer->layout = ir::layoutBuffers(*infer);
    for (const rt::BufferDesc &b : l.infer->layout.buffers)
      if (b.role == rt::BufferRole::HyperInput)
        return error("the inference step reads hyper input '" + b.name + "'");
  }
  if (train) {
    l.train = std::make_unique<AotEntry>();
    l.train->graph = train;
    l.train->layout = ir::layoutBuffers(*train);
  }
  const AotEntry &owner = train ? *l.train : *l.infer;
  llvm::StringSet<> cNames;
  for (const rt::BufferDesc &b : owner.layout.buffers) {
    if (!rt::isPersistent(b.role))
      continue;
    auto [bytes, batchDims] = bytesPerSample(b.dtype, b.shape);
    if (batchDims)
      return error(rt::roleName(b.role) + std::string(" '") + b.name + "': shape " +
                   shapeToString(b.shape) + " has the batch dimension N; params have fixed shapes");
    bool isParam = b.role == rt::BufferRole::Param;
    AotTensor t;
    t.name = b.name;
    t.cName = cIdentifier(b.name);
    t.dtype = b.dtype;
    t.shape = b.shape;
    t.init = b.init;
    t.bytes = bytes;
    t.numel = bytes / sizeOf(b.dtype);
    int64_t &total = isParam ? l.paramsBytes : l.optStateBytes;
    t.offset = total;
    total += alignUp(bytes);
    if (!cNames.insert(t.cName).second)
      return error(std::string(rt::roleName(b.role)) + " '" + b.name + "' has the C name '" +
                   t.cName + "' of another param");
    (isParam ? l.params : l.optState).push_back(std::move(t));
  }
  if (l.infer)
    if (auto e = layoutEntry(*l.infer, l, "inference"))
      return e;
  if (l.train)
    if (auto e = layoutEntry(*l.train, l, "training"))
      return e;
  // One limit for the whole object, as the header states it.
  if (l.infer && l.train)
    l.infer->maxBatch = l.train->maxBatch = std::min(l.infer->maxBatch, l.train->maxBatch);
  return l;
}

} // namespace gradc::codegen
