//===- passes/PlanMemory.cpp - Buffers shared by results that never overlap ===//
//
// Linear scan over the schedule (ir/Liveness.h): before node i, every slot
// whose occupant's lifetime ended before i is free; each result of node i
// that is not kept to the end takes a free slot, or a new one. Which free
// slot: the smallest that already holds the result's bytes, else the
// largest (it grows the least in relative terms), judged at the training
// batch size (or 64). A slot's size is decided at run time, when the batch
// is known: the largest of its members' sizes at that batch.
//
// The plan is recorded in graph.memorySlots (text IR: `memory %a, %b`);
// ir/BufferLayout gives every member of a slot the same slot index, and the
// runtime places each slot once in one arena. Results kept to the end
// (outputs, loss, next values of updates, gradients of `gradc grad`) keep
// buffers of their own. Nothing is computed in place.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "ir/Liveness.h"

namespace gradc::passes {

using ir::Graph;
using ir::Value;

namespace {

class PlanMemoryPass : public Pass {
public:
  llvm::StringRef name() const override { return "plan-memory"; }

  llvm::Expected<bool> run(Graph &g, PassContext &) override {
    ir::Liveness live = ir::computeLiveness(g);
    int64_t batch = g.training.batchSize > 0 ? g.training.batchSize : 64;
    auto bytes = [&](const Value *v) {
      return numelFor(v->type().shape, batch).value_or(0) *
             static_cast<int64_t>(sizeOf(v->type().dtype));
    };

    struct Slot {
      std::vector<Value *> members;
      int64_t bytes = 0;
      size_t busyUntil = 0; // last position of the newest member
    };
    std::vector<Slot> slots;
    for (size_t i = 0; i < g.nodes().size(); ++i) {
      for (Value *r : g.nodes()[i]->results()) {
        if (live.keptToEnd(r) || !r->type().known)
          continue;
        int64_t need = bytes(r);
        Slot *best = nullptr;
        for (Slot &s : slots) {
          if (s.busyUntil >= i)
            continue;
          bool fits = s.bytes >= need, bestFits = best && best->bytes >= need;
          if (!best || (fits && (!bestFits || s.bytes < best->bytes)) ||
              (!fits && !bestFits && s.bytes > best->bytes))
            best = &s;
        }
        if (!best) {
          slots.emplace_back();
          best = &slots.back();
        }
        best->members.push_back(r);
        best->bytes = std::max(best->bytes, need);
        best->busyUntil = live.of.lookup(r).last;
      }
    }

    std::vector<std::vector<Value *>> plan;
    for (Slot &s : slots)
      plan.push_back(std::move(s.members));
    bool changed = plan != g.memorySlots;
    g.memorySlots = std::move(plan);
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createPlanMemoryPass() { return std::make_unique<PlanMemoryPass>(); }

} // namespace gradc::passes
