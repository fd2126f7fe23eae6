#include "ir/BufferLayout.h"

#include "ir/Fusion.h"

#include <cassert>

namespace gradc::ir {

BufferLayout layoutBuffers(const Graph &g) {
  BufferLayout out;
  auto add = [&](const Value *v, rt::BufferRole role) {
    assert(v->type().known && "layoutBuffers needs inferred types");
    rt::BufferDesc d;
    d.name = v->name();
    d.role = role;
    d.dtype = v->type().dtype;
    d.shape = v->type().shape;
    out.index[v] = static_cast<unsigned>(out.buffers.size());
    out.buffers.push_back(std::move(d));
  };
  for (const Value *in : g.inputs()) {
    add(in, in->role == InputRole::Hyper ? rt::BufferRole::HyperInput
                                         : rt::BufferRole::Input);
    // What the runtime needs to compute the value: the kind and constants.
    rt::BufferDesc &d = out.buffers.back();
    d.hyper = in->hyper;
    d.optimizer = rt::OptimizerSettings{g.training.beta1, g.training.beta2,
                                        g.training.weightDecay};
  }
  for (const Value *p : g.params()) {
    add(p, p->optimizerState ? rt::BufferRole::OptState : rt::BufferRole::Param);
    rt::BufferDesc &d = out.buffers.back();
    d.init = rt::InitSpec{p->init.kind, p->init.value, p->init.mean, p->init.std,
                          p->init.low,  p->init.high,  p->init.gain};
    d.trainable = p->trainable;
  }
  // An update computed in place (a memory slot led by its param) writes the
  // param's buffer: the next value has no buffer of its own.
  for (const auto &slot : g.memorySlots)
    if (slot.front()->isParam())
      out.index[slot[1]] = out.index[slot.front()];
  // A result read only inside its fusion group lives in a register of the
  // group's loop: no buffer.
  llvm::DenseSet<const Value *> internal = groupInternalValues(g);
  for (const auto &n : g.nodes())
    for (const Value *r : n->results())
      if (!out.index.count(r) && !internal.contains(r))
        add(r, rt::BufferRole::Temp);
  // Roles of results, in increasing priority.
  for (const auto &[param, grad] : g.gradients) {
    auto &d = out.buffers[out.index[grad]];
    if (d.role == rt::BufferRole::Temp) {
      d.role = rt::BufferRole::Gradient;
      d.param = param->name();
    }
  }
  for (const Value *o : g.outputs) {
    auto &d = out.buffers[out.index[o]];
    if (d.role == rt::BufferRole::Temp || d.role == rt::BufferRole::Gradient)
      d.role = rt::BufferRole::Output;
  }
  if (g.loss) {
    auto &d = out.buffers[out.index[g.loss]];
    if (d.role != rt::BufferRole::Input && !rt::isPersistent(d.role))
      d.role = rt::BufferRole::Loss;
  }
  // Slot members are intermediates, whatever they are to the graph: a
  // training step's gradients are read only by its update nodes.
  for (size_t s = 0; s < g.memorySlots.size(); ++s)
    for (const Value *v : g.memorySlots[s]) {
      if (g.memorySlots[s].front()->isParam())
        break; // an update in place: the param's own buffer
      auto &d = out.buffers[out.index[v]];
      assert((d.role == rt::BufferRole::Temp || d.role == rt::BufferRole::Gradient) &&
             "the verifier keeps values read after the step out of memory slots");
      d.role = rt::BufferRole::Temp;
      d.param.clear();
      d.slot = static_cast<int32_t>(s);
    }
  return out;
}

} // namespace gradc::ir
