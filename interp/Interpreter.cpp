//===- interp/Interpreter.cpp - Running a graph node by node ---------------===//
//
// One step of the reference interpreter:
//   1. Every graph input and param buffer is copied into a Tensor of its
//      shape with N bound to this step's batch (sizes checked first, since
//      the batch comes from the caller).
//   2. Nodes run in schedule order. Each gets freshly allocated result
//      tensors and its kernel (Kernels.cpp); each result is copied into its
//      buffer at once, so outputs, the loss, gradients and temps are all
//      readable afterwards (results internal to a fusion group, which have
//      no buffer, are kept in the interpreter). A kernel error (a bad label) is prefixed with
//      the node's location and stops the step.
//   3. After every node ran, each update (param <- next) is copied into the
//      param's buffer. Nodes read params from the copies made in step 1, so
//      an update never leaks into the step that computed it. An update the
//      memory plan computes in place shares the param's buffer index: its
//      node replaced the param's copy, which no later node reads.
// Copying keeps the kernels on owned, aligned Tensors and makes the caller's
// buffers plain outputs; speed is not the point of the oracle.
//
//===----------------------------------------------------------------------===//
#include "interp/Interpreter.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

namespace gradc::interp {

namespace {

class Interpreter : public rt::Executable {
public:
  explicit Interpreter(const ir::Graph &g) : g_(g), layout_(ir::layoutBuffers(g)) {}

  const std::vector<rt::BufferDesc> &buffers() const override { return layout_.buffers; }
  llvm::Error run(void *const *bufs, int64_t batch) override;

private:
  /// A tensor for buffer `i` of this step's shape (N = batch).
  llvm::Expected<rt::Tensor> allocate(unsigned i, int64_t batch) const {
    const rt::BufferDesc &d = layout_.buffers[i];
    return rt::Tensor::create(d.dtype, bindBatch(d.shape, batch), "buffer '" + d.name + "'");
  }

  /// The buffer of `v`, which the layout was built from.
  unsigned indexOf(const ir::Value *v) const {
    auto it = layout_.index.find(v);
    assert(it != layout_.index.end() && "a value outside the graph's layout");
    return it->second;
  }

  const ir::Graph &g_;
  ir::BufferLayout layout_;
};

/// Copies `bytes` unless there are none (a zero-sized buffer may be null).
void copyBytes(void *dst, const void *src, size_t bytes) {
  if (bytes)
    std::memcpy(dst, src, bytes);
}

llvm::Error Interpreter::run(void *const *bufs, int64_t batch) {
  if (batch < 0)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::formatv("batch size {0} is negative", batch));
  assert((bufs || layout_.buffers.empty()) && "run() needs one pointer per buffer");
  // Tensors by buffer index; inputs and params first.
  std::vector<rt::Tensor> values(layout_.buffers.size());
  size_t defined = g_.inputs().size() + g_.params().size();
  for (unsigned i = 0; i < defined; ++i) {
    auto t = allocate(i, batch);
    if (!t)
      return t.takeError();
    copyBytes(t->data(), bufs[i], t->bytes());
    values[i] = std::move(*t);
  }

  // Results internal to a fusion group have no buffer: they are kept here.
  llvm::DenseMap<const ir::Value *, rt::Tensor> unbuffered;
  std::vector<const rt::Tensor *> ins;
  std::vector<rt::Tensor> results;
  std::vector<rt::Tensor *> outs;
  for (const auto &node : g_.nodes()) {
    const ir::Node &n = *node;
    ins.clear();
    results.clear();
    outs.clear();
    for (const ir::Value *v : n.inputs()) {
      auto it = layout_.index.find(v);
      ins.push_back(it != layout_.index.end() ? &values[it->second] : &unbuffered[v]);
    }
    // Results go to fresh tensors first: a result computed in place shares
    // its buffer index with an input the kernel still reads.
    for (const ir::Value *r : n.results()) {
      auto it = layout_.index.find(r);
      auto t = it != layout_.index.end()
                   ? allocate(it->second, batch)
                   : rt::Tensor::create(r->type().dtype, bindBatch(r->type().shape, batch),
                                        "value %" + r->name());
      if (!t)
        return ir::nodeError(n, g_, llvm::toString(t.takeError()));
      results.push_back(std::move(*t));
    }
    for (rt::Tensor &t : results)
      outs.push_back(&t);
    if (llvm::Error e = interpKernel(n.op())(n, ins, outs))
      return ir::nodeError(n, g_, llvm::toString(std::move(e)));
    for (unsigned k = 0; k < results.size(); ++k) {
      auto it = layout_.index.find(n.result(k));
      if (it == layout_.index.end()) {
        unbuffered[n.result(k)] = std::move(results[k]);
        continue;
      }
      unsigned i = it->second;
      copyBytes(bufs[i], results[k].data(), results[k].bytes());
      values[i] = std::move(results[k]);
    }
  }
  for (const ir::ParamUpdate &u : g_.updates) {
    if (indexOf(u.next) == indexOf(u.param))
      continue; // computed in place: already in the param's buffer
    const rt::Tensor &next = values[indexOf(u.next)];
    assert(next.shape() == values[indexOf(u.param)].shape() &&
           "an update has its param's shape");
    copyBytes(bufs[indexOf(u.param)], next.data(), next.bytes());
  }
  return llvm::Error::success();
}

} // namespace

std::unique_ptr<rt::Executable> makeInterpreter(const ir::Graph &g) {
  return std::make_unique<Interpreter>(g);
}

} // namespace gradc::interp
