//===- codegen/ModuleBuilder.cpp - A graph as one LLVM module --------------===//
//
// Algorithm: for node i (schedule order) declare an internal function
//   void gradc_k<i>_<op>(ptr in..., ptr out..., i64 batch)
// and let the op's lowering (Lowering.h) fill it. Kernels stay separate
// functions (noinline): the printed IR reads kernel by kernel, and each
// kernel's loops are vectorized on their own. Nodes with the same
// kernelKey (KernelKey.h: op, attributes, types, in-place pairs) share the
// function of the first of them, named after it: the unrolled steps of an
// RNN then cost LLVM one set of kernels, not T. An elementwise map of
// contiguous operands is lowered from a rank-1 stand-in (flatMapNode) and
// called with its element count as `batch`, so maps of any shape share. Then the external entry
//   void gradc_step(ptr buffers, i64 batch)
// loads each node's buffer pointers from the table and calls its kernel, in
// order, and finally copies every graph.updates `next` buffer into its param
// buffer (after all nodes: a kernel late in the step may still read the old
// param). A fusion group (ir/Fusion.h) is one kernel instead,
//   void gradc_k<i>_fused_g<id>(ptr group input..., ptr group output..., i64 batch)
// called where its first member would run: one map over the group's shape
// that computes each member with its own lowering in element mode, so the
// values only members read stay in registers. A group headed by a matmul
// is the matmul's own kernel, with the maps as a tile epilogue of its GEMM.
// Groups share kernels too: structurally equal groups (groupKernelKey: the
// members' keys, their wiring, the group's inputs and outputs, in-place
// pairs) call the function of the first of them, so an unrolled LSTM cell's
// gate math is one kernel for all time steps; a group of maps whose inputs
// all have its shape or one element is flat (lowered over [N], called with
// its element count), so the optimizer update of every param shares one.
//
// Pointer arguments are noalias and align 64: no two values live at the same
// node share memory (a memory slot of plan-memory holds values whose
// lifetimes are disjoint, ir/Liveness.h), except an elementwise result
// computed in place of one of its inputs. The kernel then reads and writes
// that memory through the input's pointer alone (KernelCtx::shareArgs),
// which stays noalias (but not readonly); the result's pointer goes unused.
// Two distinct pointers to one memory would make every vectorized loop check
// at run time that they do not overlap, find that they do, and run scalar.
// The runtime places every buffer 64-byte aligned. A node may read one value
// twice (mul(%x, %x)); noalias still holds then, since inputs are only read.
// Results are never inputs (SSA).
//
//===----------------------------------------------------------------------===//
#include "codegen/ModuleBuilder.h"

#include "codegen/BroadcastLoops.h"
#include "codegen/KernelEmitter.h"
#include "codegen/KernelKey.h"
#include "codegen/Lowering.h"
#include "ir/Fusion.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc::codegen {

namespace {

/// Where a value lives: its buffer, or its memory slot (shared with others).
int64_t memoryOf(const ir::BufferLayout &layout, const ir::Value *v) {
  unsigned i = layout.index.lookup(v);
  int32_t slot = layout.buffers[i].slot;
  return slot >= 0 ? -1 - static_cast<int64_t>(slot) : static_cast<int64_t>(i);
}

/// A kernel function and, for each pointer argument, the first argument
/// holding the same memory (KernelCtx::shareArgs).
struct DeclaredKernel {
  llvm::Function *fn;
  llvm::SmallVector<unsigned, 5> canon;
};

/// Declares a kernel `name(ptr in..., ptr out..., i64 batch)` over the
/// buffers of `ins` and `outs`.
DeclaredKernel declareKernelOver(llvm::Module &m, const std::string &name,
                                 llvm::ArrayRef<const ir::Value *> ins,
                                 llvm::ArrayRef<const ir::Value *> outs,
                                 const ir::BufferLayout &layout) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  size_t nptrs = ins.size() + outs.size();
  llvm::SmallVector<llvm::Type *, 5> params(nptrs, ptr);
  params.push_back(llvm::Type::getInt64Ty(ctx));
  auto *fty = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params, false);
  auto *f = llvm::Function::Create(fty, llvm::Function::InternalLinkage, name, m);
  f->addFnAttr(llvm::Attribute::NoInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  // Two pointers in the same memory: a result computed in place of an input
  // (plan-memory), or an epilogue's output in place of the product it reads
  // back (a fusion group with a matmul head). The kernel then reaches that
  // memory through the first of them only (KernelCtx::shareArgs), so that
  // one is still noalias, and not readonly; the others go unused. Inputs in
  // one memory are one value read twice: both stay readonly and noalias.
  auto memory = [&](unsigned a) {
    return memoryOf(layout, a < ins.size() ? ins[a] : outs[a - ins.size()]);
  };
  llvm::SmallVector<unsigned, 5> canon(nptrs);
  llvm::SmallVector<bool, 5> written(nptrs, false);
  for (unsigned a = 0; a < nptrs; ++a) {
    canon[a] = a;
    written[a] = a >= ins.size();
    if (a < ins.size())
      continue;
    for (unsigned q = 0; q < a; ++q)
      if (memory(q) == memory(a)) {
        canon[a] = canon[q];
        written[canon[q]] = true;
        break;
      }
  }
  for (unsigned a = 0; a < ins.size(); ++a) // an input read twice, written in place
    for (unsigned q = 0; q < a; ++q)
      if (canon[q] == q && written[q] && memory(q) == memory(a))
        canon[a] = q;
  for (unsigned i = 0; i < nptrs; ++i) {
    if (canon[i] == i)
      f->addParamAttr(i, llvm::Attribute::NoAlias);
    f->addParamAttr(i, llvm::Attribute::NoCapture);
    f->addParamAttr(i, llvm::Attribute::NoUndef);
    f->addParamAttr(i, llvm::Attribute::getWithAlignment(ctx, llvm::Align(64)));
    if (i < ins.size() && canon[i] == i && !written[i])
      f->addParamAttr(i, llvm::Attribute::ReadOnly);
  }
  f->addParamAttr(nptrs, llvm::Attribute::NoUndef);
  unsigned a = 0;
  for (const ir::Value *v : ins)
    f->getArg(a++)->setName(v->name());
  for (const ir::Value *v : outs)
    f->getArg(a++)->setName(v->name());
  f->getArg(a)->setName("batch");
  return {f, canon};
}

DeclaredKernel declareKernel(llvm::Module &m, const ir::Node &n, size_t index,
                              const ir::BufferLayout &layout) {
  std::string name = "gradc_k" + std::to_string(index) + "_" + n.info().name;
  return declareKernelOver(m, name, {n.inputs().begin(), n.inputs().end()},
                           {n.results().begin(), n.results().end()}, layout);
}

/// Computes the map members of `grp` (all but its head) on element values:
/// `elem` holds the group's inputs (and the head's result) at one index;
/// each member's lowering runs in element mode (KernelCtx::ElementScope) and
/// adds its result. The first error is kept in `err`.
void emitMembers(KernelCtx &k, const ir::FusionGroup &grp, const ir::Graph &g,
                 llvm::DenseMap<const ir::Value *, llvm::Value *> &elem, llvm::Error &err) {
  for (const ir::Node *m : grp.members) {
    if (m == grp.head)
      continue;
    llvm::SmallVector<llvm::Value *, 3> args;
    for (const ir::Value *v : m->inputs())
      args.push_back(elem.lookup(v));
    KernelCtx::ElementScope scope{args};
    k.setElementScope(&scope);
    llvm::Error e = loweringFor(m->op())(k, *m);
    k.setElementScope(nullptr);
    if (!e && !scope.result)
      e = llvm::createStringError(llvm::inconvertibleErrorCode(),
                                  "internal error: op '" + std::string(m->info().name) +
                                      "' has no element function to fuse");
    if (e) {
      if (!err)
        err = ir::nodeError(*m, g, "cannot generate code: " + llvm::toString(std::move(e)));
      else
        llvm::consumeError(std::move(e));
      scope.result = llvm::PoisonValue::get(k.f32());
    }
    elem[m->result()] = scope.result;
  }
}

/// Fills the kernel of a group of maps: one broadcast map over the group's
/// shape whose body loads the group's inputs, computes every member, and
/// stores the group's outputs.
/// `typeOf` gives the shapes the kernel sees (a flat group's stand-ins).
llvm::Error emitMapGroupKernel(KernelCtx &k, const ir::FusionGroup &grp, const ir::Graph &g,
                               llvm::function_ref<TensorType(const ir::Value *)> typeOf) {
  llvm::SmallVector<MapOperand, 4> operands;
  for (unsigned i = 0; i < grp.inputs.size(); ++i)
    operands.push_back({k.in(i), typeOf(grp.inputs[i]).shape});
  llvm::SmallVector<llvm::Value *, 2> outs;
  for (unsigned r = 0; r < grp.outputs.size(); ++r)
    outs.push_back(k.out(r));
  llvm::Error err = llvm::Error::success();
  emitBroadcastMapMulti(k, typeOf(grp.members.front()->result()).shape, outs, operands, [&](llvm::ArrayRef<llvm::Value *> in) {
    llvm::DenseMap<const ir::Value *, llvm::Value *> elem;
    for (unsigned i = 0; i < grp.inputs.size(); ++i)
      elem[grp.inputs[i]] = in[i];
    emitMembers(k, grp, g, elem, err);
    LoopValues res;
    for (const ir::Value *o : grp.outputs)
      res.push_back(elem.lookup(o));
    return res;
  });
  return err;
}

/// A group of maps whose every input has the group's shape or a single
/// element is flat: its kernel is lowered over rank-1 stand-ins (the
/// group's shape as [N], single elements as []) and called with the
/// element count as `batch`, like a flat map (KernelKey.h), so that groups
/// of any shape share one kernel (the optimizer update of every param).
bool isFlatGroup(const ir::FusionGroup &grp) {
  if (grp.head)
    return false;
  const Shape &shape = grp.shape();
  for (const ir::Value *v : grp.inputs) {
    if (v->type().shape == shape)
      continue;
    for (int64_t d : v->type().shape)
      if (d != 1)
        return false;
  }
  return true;
}

/// An operand of an epilogue: the kernel argument holding it and how the
/// epilogue indexes it.
struct EpilogueOperand {
  const ir::Value *value;
  unsigned arg;
  ir::EpilogueRead read;
};

/// The kernel arguments of a group with a head: the head's operands as the
/// head's lowering expects them, then the other operands its maps read.
std::vector<const ir::Value *> headGroupInputs(const ir::FusionGroup &grp,
                                               std::vector<EpilogueOperand> *epilogue) {
  std::vector<const ir::Value *> ins(grp.head->inputs().begin(), grp.head->inputs().end());
  for (const ir::Value *v : grp.inputs) {
    bool readByMap = llvm::any_of(grp.members, [&](const ir::Node *m) {
      return m != grp.head && llvm::is_contained(m->inputs(), v);
    });
    if (!readByMap)
      continue;
    auto read = ir::epilogueRead(v->type().shape, grp.shape(), grp.head->op());
    assert(read && "the verifier checks epilogue operands");
    if (epilogue)
      epilogue->push_back({v, static_cast<unsigned>(ins.size()), *read});
    ins.push_back(v);
  }
  return ins;
}

/// Runs the lowering of `grp`'s head (its epilogue hook set by the caller)
/// and returns the first error: the lowering's, else the epilogue's, which
/// the epilogue leaves in `err` while the lowering runs.
llvm::Error lowerHead(KernelCtx &k, const ir::FusionGroup &grp, const ir::Graph &g,
                      llvm::Error &err) {
  if (llvm::Error e = loweringFor(grp.head->op())(k, *grp.head)) {
    llvm::consumeError(std::move(err));
    return ir::nodeError(*grp.head, g, "cannot generate code: " + llvm::toString(std::move(e)));
  }
  return std::move(err);
}

/// Fills the kernel of a group headed by a conv or a batch_norm_train: the
/// head's own lowering, with an element epilogue that computes the maps on
/// each result and stores the group's outputs (a batch norm's result only
/// when read outside the group; a conv has stored its result itself).
llvm::Error emitElementHeadGroupKernel(KernelCtx &k, const ir::FusionGroup &grp,
                                       const ir::Graph &g) {
  std::vector<EpilogueOperand> operands;
  headGroupInputs(grp, &operands);
  llvm::Error err = llvm::Error::success();
  KernelCtx::ElementEpilogue epilogue = [&](KernelCtx &p, llvm::Value *idx, llvm::Value *y) {
    llvm::DenseMap<const ir::Value *, llvm::Value *> elem;
    elem[grp.head->result()] = y;
    for (const EpilogueOperand &o : operands)
      elem[o.value] = p.load(p.in(o.arg), o.read == ir::EpilogueRead::Full ? idx : p.i64c(0));
    emitMembers(p, grp, g, elem, err);
    for (unsigned out = 0; out < grp.outputs.size(); ++out)
      if (grp.outputs[out] != grp.head->result() || !ir::headStoresResult(grp.head->op()))
        p.store(elem.lookup(grp.outputs[out]), p.out(out), idx);
  };
  k.setElementEpilogue(&epilogue);
  llvm::Error e = lowerHead(k, grp, g, err);
  k.setElementEpilogue(nullptr);
  return e;
}

/// Fills the kernel of a group headed by a matmul: the head's own lowering,
/// with a tile epilogue that reads each stored tile of the product back
/// (output 0), computes the maps on it and stores the other outputs.
llvm::Error emitHeadGroupKernel(KernelCtx &k, const ir::FusionGroup &grp, const ir::Graph &g) {
  if (grp.head->op() != ir::OpKind::MatMul)
    return emitElementHeadGroupKernel(k, grp, g);
  std::vector<EpilogueOperand> operands;
  headGroupInputs(grp, &operands);
  llvm::Error err = llvm::Error::success();
  // The epilogue is one function beside the kernel, emitted at its first
  // use and called for every tile, whatever the tile's kind (full, edge
  // rows, edge columns) and however often LLVM unrolls the tile loops:
  //   void K.epilogue(ptr in..., ptr out..., i64 batch,
  //                   i64 i0, i64 rows, i64 j0, i64 cols, i64 Nn)
  // Inline, each tile kind had its own copy, specialized and unrolled.
  llvm::Function *kernel = k.function();
  llvm::Function *epilogueFn = nullptr;
  auto emitEpilogueBody = [&](KernelCtx &p, llvm::Value *i0, llvm::Value *rows,
                              llvm::Value *j0, llvm::Value *cols, llvm::Value *Nn) {
    p.loop(rows, [&](llvm::Value *r) {
      llvm::Value *rowBase = p.mul(p.add(i0, r), Nn);
      p.loop(cols, [&](llvm::Value *c) {
        llvm::Value *col = p.add(j0, c);
        llvm::Value *idx = p.add(rowBase, col);
        llvm::DenseMap<const ir::Value *, llvm::Value *> elem;
        elem[grp.head->result()] = p.load(p.out(0), idx);
        for (const EpilogueOperand &o : operands) {
          llvm::Value *at = o.read == ir::EpilogueRead::Full  ? idx
                            : o.read == ir::EpilogueRead::Row ? col
                                                              : p.i64c(0);
          elem[o.value] = p.load(p.in(o.arg), at);
        }
        emitMembers(p, grp, g, elem, err);
        for (unsigned out = 1; out < grp.outputs.size(); ++out)
          p.store(elem.lookup(grp.outputs[out]), p.out(out), idx);
      }, "ej");
    }, "ei");
  };
  KernelCtx::TileEpilogue epilogue = [&](KernelCtx &p, llvm::Value *i0, llvm::Value *rows,
                                         llvm::Value *j0, llvm::Value *cols, llvm::Value *Nn) {
    const unsigned nptrs = p.numIns() + p.numOuts();
    if (!epilogueFn) {
      llvm::LLVMContext &c = p.ctx();
      llvm::FunctionType *kty = kernel->getFunctionType();
      llvm::SmallVector<llvm::Type *, 10> params(kty->param_begin(),
                                                 kty->param_begin() + nptrs + 1);
      params.append(5, p.i64());
      epilogueFn = llvm::Function::Create(
          llvm::FunctionType::get(llvm::Type::getVoidTy(c), params, false),
          llvm::Function::InternalLinkage, kernel->getName() + ".epilogue", p.module());
      epilogueFn->addFnAttr(llvm::Attribute::NoInline);
      epilogueFn->addFnAttr(llvm::Attribute::NoUnwind);
      for (unsigned i = 0; i <= nptrs; ++i) {
        epilogueFn->getArg(i)->setName(kernel->getArg(i)->getName());
        epilogueFn->addParamAttrs(
            i, llvm::AttrBuilder(c, kernel->getAttributes().getParamAttrs(i)));
      }
      const char *names[] = {"i0", "rows", "j0", "cols", "Nn"};
      for (unsigned i = 0; i < 5; ++i)
        epilogueFn->getArg(nptrs + 1 + i)->setName(names[i]);
      KernelCtx::EmitState state = p.retarget(epilogueFn, 5);
      emitEpilogueBody(p, p.trailing(0), p.trailing(1), p.trailing(2), p.trailing(3),
                       p.trailing(4));
      p.b().CreateRetVoid();
      p.restore(std::move(state));
    }
    llvm::SmallVector<llvm::Value *, 12> args;
    for (unsigned i = 0; i < p.numIns(); ++i)
      args.push_back(p.in(i));
    for (unsigned i = 0; i < p.numOuts(); ++i)
      args.push_back(p.out(i));
    args.append({p.batch(), i0, rows, j0, cols, Nn});
    p.b().CreateCall(epilogueFn, args);
  };
  k.setTileEpilogue(&epilogue);
  llvm::Error e = lowerHead(k, grp, g, err);
  k.setTileEpilogue(nullptr);
  return e;
}

} // namespace

llvm::Expected<llvm::Function *> addStepFunction(const ir::Graph &g, const ir::BufferLayout &layout,
                                                 const TargetInfo &target, llvm::Module &m,
                                                 llvm::StringRef name,
                                                 llvm::GlobalValue::LinkageTypes linkage) {
  llvm::LLVMContext &ctx = m.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *i64 = llvm::Type::getInt64Ty(ctx);

  auto *stepTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr, i64}, false);
  auto *step = llvm::Function::Create(stepTy, linkage, name, m);
  step->addFnAttr(llvm::Attribute::NoUnwind);
  llvm::Argument *table = step->getArg(0);
  llvm::Argument *batch = step->getArg(1);
  table->setName("buffers");
  batch->setName("batch");
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", step));

  auto bufferPtr = [&](const ir::Value *v) -> llvm::Value * {
    auto it = layout.index.find(v);
    assert(it != layout.index.end() && "value without a buffer");
    llvm::Value *slot = b.CreateConstInBoundsGEP1_64(ptr, table, it->second);
    return b.CreateAlignedLoad(ptr, slot, llvm::Align(8), v->name());
  };

  auto numel = [&](const TensorType &t) {
    llvm::Value *count = b.getInt64(1);
    for (int64_t d : t.shape)
      count = b.CreateMul(count, d == kBatch ? static_cast<llvm::Value *>(batch)
                                             : b.getInt64(d));
    return count;
  };

  // kernelKey / groupKernelKey -> its one function (the two never meet:
  // a group key starts with "group", a node key with a number).
  llvm::StringMap<llvm::Function *> kernels;
  std::vector<ir::FusionGroup> groups = ir::collectFusionGroups(g);
  llvm::DenseMap<int32_t, const ir::FusionGroup *> groupOf;
  for (const ir::FusionGroup &grp : groups)
    groupOf[grp.id] = &grp;

  size_t index = 0;
  for (const auto &node : g.nodes()) {
    const ir::Node &n = *node;
    if (n.group != ir::Node::kNoGroup) {
      const ir::FusionGroup &grp = *groupOf.lookup(n.group);
      if (grp.members.front() != &n)
        continue; // the group's kernel runs at its first member
      std::vector<const ir::Value *> ins =
          grp.head ? headGroupInputs(grp, nullptr) : grp.inputs;
      bool flat = isFlatGroup(grp);
      const Shape &shape = grp.shape();
      auto typeOf = [&](const ir::Value *v) {
        if (!flat)
          return v->type();
        return TensorType(v->type().dtype, v->type().shape == shape ? Shape{kBatch} : Shape{});
      };
      auto argValue = [&](unsigned a) {
        return a < ins.size() ? ins[a] : grp.outputs[a - ins.size()];
      };
      auto sameMemory = [&](unsigned a, unsigned b) {
        return memoryOf(layout, argValue(a)) == memoryOf(layout, argValue(b));
      };
      // Structurally equal groups share the function of the first of them.
      llvm::Function *&kernel = kernels[groupKernelKey(grp, ins, typeOf, sameMemory)];
      size_t at = index++;
      if (!kernel) {
        std::string name = "gradc_k" + std::to_string(at) + "_fused_g" + std::to_string(grp.id);
        DeclaredKernel decl = declareKernelOver(m, name, ins, grp.outputs, layout);
        kernel = decl.fn;
        KernelCtx k(kernel, n, target, ins.size(), grp.outputs.size());
        k.shareArgs(decl.canon);
        if (llvm::Error e = grp.head ? emitHeadGroupKernel(k, grp, g)
                                     : emitMapGroupKernel(k, grp, g, typeOf))
          return e;
        k.b().CreateRetVoid();
      }
      llvm::SmallVector<llvm::Value *, 5> args;
      for (const ir::Value *v : ins)
        args.push_back(bufferPtr(v));
      for (const ir::Value *v : grp.outputs)
        args.push_back(bufferPtr(v));
      args.push_back(flat ? numel(grp.members.front()->result()->type()) : batch);
      b.CreateCall(kernel, args);
      continue;
    }
    // A flat map's kernel is lowered from its stand-in and takes the
    // element count in place of the batch.
    std::optional<FlatMap> flat = flatMapNode(n);
    const ir::Node &kn = flat ? *flat->node : n;
    auto sameMemory = [&](unsigned i, unsigned r) {
      return memoryOf(layout, n.input(i)) == memoryOf(layout, n.result(r));
    };
    llvm::Function *&kernel = kernels[kernelKey(kn, sameMemory)];
    ++index;
    if (!kernel) {
      DeclaredKernel decl = declareKernel(m, n, index - 1, layout);
      kernel = decl.fn;
      KernelCtx k(kernel, kn, target);
      k.shareArgs(decl.canon);
      if (llvm::Error e = loweringFor(kn.op())(k, kn))
        return ir::nodeError(n, g, "cannot generate code: " + llvm::toString(std::move(e)));
      k.b().CreateRetVoid();
    }

    llvm::SmallVector<llvm::Value *, 5> args;
    for (const ir::Value *v : n.inputs())
      args.push_back(bufferPtr(v));
    for (const ir::Value *v : n.results())
      args.push_back(bufferPtr(v));
    args.push_back(flat ? numel(n.result()->type()) : batch);
    b.CreateCall(kernel, args);
  }

  for (const ir::ParamUpdate &u : g.updates) {
    if (layout.index.lookup(u.param) == layout.index.lookup(u.next))
      continue; // computed in place (plan-memory)
    const TensorType &t = u.param->type();
    llvm::Value *bytes = b.CreateMul(numel(t), b.getInt64(sizeOf(t.dtype)));
    b.CreateMemCpy(bufferPtr(u.param), llvm::Align(64), bufferPtr(u.next), llvm::Align(64),
                   bytes);
  }
  b.CreateRetVoid();
  return step;
}

llvm::Error verifyStepModule(const llvm::Module &m) {
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(m, &os))
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "internal error: codegen produced invalid LLVM IR: " +
                                       os.str());
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<llvm::Module>>
buildStepModule(const ir::Graph &g, const ir::BufferLayout &layout, const TargetInfo &target,
                llvm::LLVMContext &ctx) {
  auto m = std::make_unique<llvm::Module>(g.name.empty() ? "gradc" : g.name, ctx);
  auto step = addStepFunction(g, layout, target, *m, kStepFunctionName,
                              llvm::Function::ExternalLinkage);
  if (!step)
    return step.takeError();
  if (llvm::Error e = verifyStepModule(*m))
    return e;
  return m;
}

} // namespace gradc::codegen
