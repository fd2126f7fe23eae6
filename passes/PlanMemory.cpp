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
// In place first: an elementwise result takes the slot of an input that dies
// at its node when their types match (ir/Liveness.h, canShareInPlace).
//
// Fusion groups (ir/Fusion.h): a group is one position of the schedule (its
// kernel reads every input and writes every result there), and a member
// result read only inside its group gets no memory at all: it lives in a
// register of the group's loop.
//
// The plan is recorded in graph.memorySlots (text IR: `memory %a, %b`);
// ir/BufferLayout gives every member of a slot the same slot index, and the
// runtime places each slot once in one arena. Results kept to the end
// (outputs, loss, next values of updates, gradients of `gradc grad`) keep
// buffers of their own, except that an update's next value is computed in
// place in its param (`memory %W, %W.next`) when the param is read by no
// later node and the next value's node is elementwise: the step then needs
// neither a buffer for it nor a copy at the end.
//
//===----------------------------------------------------------------------===//
#include "passes/Passes.h"

#include "ir/Fusion.h"
#include "ir/Liveness.h"

#include <optional>

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
    llvm::DenseMap<const Value *, size_t> slotOf;
    // A fusion group runs as one kernel at its first member's position: all
    // its inputs may be taken in place by any of its results.
    std::vector<size_t> pos = ir::schedulePositions(g);
    llvm::DenseSet<const Value *> internal = ir::groupInternalValues(g);
    // (and, in a group headed by a matmul, the product: its epilogue reads
    // each element of a stored tile before writing the same element).
    llvm::DenseMap<int32_t, std::vector<const Value *>> groupInputs;
    for (ir::FusionGroup &grp : ir::collectFusionGroups(g)) {
      if (grp.head)
        grp.inputs.push_back(grp.head->result());
      groupInputs[grp.id] = std::move(grp.inputs);
    }
    for (size_t i0 = 0; i0 < g.nodes().size(); ++i0) {
      const ir::Node &n = *g.nodes()[i0];
      const size_t i = pos[i0];
      llvm::ArrayRef<const Value *> inputs(n.inputs().begin(), n.inputs().end());
      if (n.group != ir::Node::kNoGroup)
        inputs = groupInputs[n.group];
      for (Value *r : n.results()) {
        if (live.keptToEnd(r) || !r->type().known || internal.contains(r))
          continue;
        // In place: the slot of an input that dies here, when r may take it.
        std::optional<size_t> pick;
        for (const Value *in : inputs) {
          auto it = slotOf.find(in);
          if (it != slotOf.end() && slots[it->second].busyUntil == i &&
              live.of.lookup(in).last == i && live.mayShareInPlace(in, r)) {
            pick = it->second;
            break;
          }
        }
        // Else the best free slot (see the file comment), else a new one.
        int64_t need = bytes(r);
        if (!pick) {
          for (size_t s = 0; s < slots.size(); ++s) {
            if (slots[s].busyUntil >= i)
              continue;
            bool fits = slots[s].bytes >= need;
            bool bestFits = pick && slots[*pick].bytes >= need;
            if (!pick || (fits && (!bestFits || slots[s].bytes < slots[*pick].bytes)) ||
                (!fits && !bestFits && slots[s].bytes > slots[*pick].bytes))
              pick = s;
          }
        }
        if (!pick) {
          pick = slots.size();
          slots.emplace_back();
        }
        Slot &slot = slots[*pick];
        slot.members.push_back(r);
        slot.bytes = std::max(slot.bytes, need);
        slot.busyUntil = live.of.lookup(r).last;
        slotOf[r] = *pick;
      }
    }

    std::vector<std::vector<Value *>> plan;
    for (Slot &s : slots)
      plan.push_back(std::move(s.members));
    // Updates in place: the next value is written straight into its param.
    for (const ir::ParamUpdate &u : g.updates)
      if (u.next->def() && ir::canUpdateInPlace(g, u.param, u.next))
        plan.push_back({u.param, u.next});
    bool changed = plan != g.memorySlots;
    g.memorySlots = std::move(plan);
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createPlanMemoryPass() { return std::make_unique<PlanMemoryPass>(); }

} // namespace gradc::passes
