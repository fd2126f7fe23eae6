//===- ir/Cost.cpp - Floating-point work of a graph -----------------------===//
#include "ir/Cost.h"

#include <algorithm>

namespace gradc::ir {

static double elements(const Value *v, int64_t batch) {
  auto n = numelFor(v->type().shape, batch);
  return n ? static_cast<double>(*n) : 0.0;
}

double nodeFlops(const Node &n, int64_t batch) {
  if (n.op() == OpKind::MatMul) {
    // [M,K] x [K,N]: the result holds M*N sums of K products.
    const Shape &a = n.input(0)->type().shape;
    int64_t k = n.attrs().getInt("transpose_a", 0) ? a.front() : a.back();
    if (k == kBatch)
      k = batch;
    return 2.0 * elements(n.result(), batch) * static_cast<double>(k);
  }
  double most = 0;
  for (const Value *v : n.inputs())
    most = std::max(most, elements(v, batch));
  for (const Value *v : n.results())
    most = std::max(most, elements(v, batch));
  return most;
}

double graphFlops(const Graph &g, int64_t batch) {
  double total = 0;
  for (const auto &n : g.nodes())
    total += nodeFlops(*n, batch);
  return total;
}

} // namespace gradc::ir
