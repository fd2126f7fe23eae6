//===- interp/KernelsSeqData.cpp - Embedding, slicing, sequence constants ---===//
//
// embedding gathers table rows by id; an id outside [0, rows) is an error
// naming the id and its position (never a read out of bounds).
// embedding_grad scatter-adds rows of dy (in double) into a zeroed table, so
// repeated ids accumulate. slice copies [start, end) along its axis;
// slice_grad writes dy into that range of a zeroed tensor; concat copies its
// operands one after the other along the axis. All three see a tensor as
// [outer, axis, inner] and move 4-byte words, so they serve f32 and i32.
// bmm multiplies the matrices of the last two dims, batch by batch, in double;
// the leading dims broadcast (ir::bmmBatchStrides).
// causal_mask[q, k] = k <= q ? 1 : 0;
// positional_encoding[t, 2i] = sin(t / 10000^(2i/D)), [t, 2i+1] = cos(same).
//
//===----------------------------------------------------------------------===//
#include "interp/KernelUtil.h"

#include <cmath>
#include <cstring>

namespace gradc::interp {

namespace {

int64_t axisAttr(const ir::Node &n, int64_t rank) {
  return llvm::cantFail(ir::normalizeAxis(n.attrs().getInt("axis", 0), rank));
}

const uint32_t *words(const rt::Tensor &t) { return static_cast<const uint32_t *>(t.data()); }
uint32_t *words(rt::Tensor &t) { return static_cast<uint32_t *>(t.data()); }

llvm::Error checkIds(const rt::Tensor &ids, int64_t rows) {
  for (int64_t p = 0; p < ids.numel(); ++p) {
    int32_t id = ids.i32()[p];
    if (id < 0 || id >= rows)
      return kernelError(llvm::formatv(
          "embedding id {0} at position {1} is out of range for a table of {2} rows", id, p,
          rows));
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error kernelEmbedding(const ir::Node &, TensorIns in, TensorOuts out) {
  const rt::Tensor &ids = *in[0], &table = *in[1];
  int64_t rows = table.shape()[0], dim = table.shape()[1];
  if (auto e = checkIds(ids, rows))
    return e;
  for (int64_t p = 0; p < ids.numel(); ++p)
    for (int64_t d = 0; d < dim; ++d)
      out[0]->f32()[p * dim + d] = table.f32()[ids.i32()[p] * dim + d];
  return llvm::Error::success();
}

llvm::Error kernelEmbeddingGrad(const ir::Node &, TensorIns in, TensorOuts out) {
  const rt::Tensor &ids = *in[0], &dy = *in[1];
  int64_t rows = out[0]->shape()[0], dim = out[0]->shape()[1];
  if (auto e = checkIds(ids, rows))
    return e;
  std::vector<double> acc(static_cast<size_t>(rows * dim), 0.0);
  for (int64_t p = 0; p < ids.numel(); ++p)
    for (int64_t d = 0; d < dim; ++d)
      acc[ids.i32()[p] * dim + d] += double(dy.f32()[p * dim + d]);
  for (size_t i = 0; i < acc.size(); ++i)
    out[0]->f32()[i] = static_cast<float>(acc[i]);
  return llvm::Error::success();
}

llvm::Error kernelSlice(const ir::Node &n, TensorIns in, TensorOuts out) {
  AxisSplit src = splitAround(in[0]->shape(), axisAttr(n, in[0]->shape().size()));
  AxisSplit dst = splitAround(out[0]->shape(), axisAttr(n, in[0]->shape().size()));
  int64_t start = n.attrs().getInt("start", 0);
  for (int64_t o = 0; o < dst.outer; ++o)
    for (int64_t a = 0; a < dst.size; ++a)
      for (int64_t i = 0; i < dst.inner; ++i)
        words(*out[0])[dst.at(o, a, i)] = words(*in[0])[src.at(o, start + a, i)];
  return llvm::Error::success();
}

llvm::Error kernelSliceGrad(const ir::Node &n, TensorIns in, TensorOuts out) {
  AxisSplit src = splitAround(in[0]->shape(), axisAttr(n, in[0]->shape().size()));
  AxisSplit dst = splitAround(out[0]->shape(), axisAttr(n, in[0]->shape().size()));
  int64_t start = n.attrs().getInt("start", 0);
  std::fill(out[0]->f32(), out[0]->f32() + out[0]->numel(), 0.0f);
  for (int64_t o = 0; o < src.outer; ++o)
    for (int64_t a = 0; a < src.size; ++a)
      for (int64_t i = 0; i < src.inner; ++i)
        out[0]->f32()[dst.at(o, start + a, i)] = in[0]->f32()[src.at(o, a, i)];
  return llvm::Error::success();
}

llvm::Error kernelConcat(const ir::Node &n, TensorIns in, TensorOuts out) {
  int64_t axis = axisAttr(n, out[0]->shape().size());
  AxisSplit dst = splitAround(out[0]->shape(), axis);
  int64_t offset = 0;
  for (const rt::Tensor *t : in) {
    AxisSplit src = splitAround(t->shape(), axis);
    for (int64_t o = 0; o < src.outer; ++o)
      for (int64_t a = 0; a < src.size; ++a)
        for (int64_t i = 0; i < src.inner; ++i)
          words(*out[0])[dst.at(o, offset + a, i)] = words(*t)[src.at(o, a, i)];
    offset += src.size;
  }
  return llvm::Error::success();
}

llvm::Error kernelBmm(const ir::Node &n, TensorIns in, TensorOuts out) {
  const rt::Tensor &a = *in[0], &b = *in[1];
  rt::Tensor &c = *out[0];
  bool ta = n.attrs().getInt("transpose_a", 0) != 0;
  bool tb = n.attrs().getInt("transpose_b", 0) != 0;
  size_t ra = a.shape().size(), rb = b.shape().size(), rc = c.shape().size();
  int64_t aR = a.shape()[ra - 2], aC = a.shape()[ra - 1];
  int64_t bR = b.shape()[rb - 2], bC = b.shape()[rb - 1];
  int64_t m = c.shape()[rc - 2], p = c.shape()[rc - 1], k = ta ? aR : aC;
  int64_t batches = c.numel() / std::max<int64_t>(m * p, 1);
  if (m * p == 0)
    batches = 0;
  // Leading dims broadcast: each operand's start for output batch s.
  Shape lead(c.shape().begin(), c.shape().end() - 2);
  std::vector<int64_t> sa = ir::bmmBatchStrides(a.shape(), lead);
  std::vector<int64_t> sb = ir::bmmBatchStrides(b.shape(), lead);
  for (int64_t s = 0; s < batches; ++s) {
    int64_t offA = 0, offB = 0, rest = s;
    for (size_t d = lead.size(); d-- > 0;) {
      int64_t idx = d == 0 ? rest : rest % lead[d];
      rest = d == 0 ? 0 : rest / lead[d];
      offA += idx * sa[d];
      offB += idx * sb[d];
    }
    const float *A = a.f32() + offA, *B = b.f32() + offB;
    float *C = c.f32() + s * m * p;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < p; ++j) {
        double acc = 0;
        for (int64_t q = 0; q < k; ++q)
          acc += double(ta ? A[q * aC + i] : A[i * aC + q]) *
                 double(tb ? B[j * bC + q] : B[q * bC + j]);
        C[i * p + j] = static_cast<float>(acc);
      }
  }
  return llvm::Error::success();
}

llvm::Error kernelCausalMask(const ir::Node &, TensorIns, TensorOuts out) {
  int64_t t = out[0]->shape()[0];
  for (int64_t q = 0; q < t; ++q)
    for (int64_t k = 0; k < t; ++k)
      out[0]->f32()[q * t + k] = k <= q ? 1.0f : 0.0f;
  return llvm::Error::success();
}

llvm::Error kernelPositionalEncoding(const ir::Node &, TensorIns, TensorOuts out) {
  int64_t len = out[0]->shape()[0], dim = out[0]->shape()[1];
  for (int64_t t = 0; t < len; ++t)
    for (int64_t j = 0; j < dim; ++j) {
      double angle = double(t) / std::pow(10000.0, double(j - j % 2) / double(dim));
      out[0]->f32()[t * dim + j] = static_cast<float>(j % 2 ? std::cos(angle) : std::sin(angle));
    }
  return llvm::Error::success();
}

} // namespace gradc::interp
