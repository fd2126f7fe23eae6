//===- ir/Cost.cpp - Floating-point work of a graph -----------------------===//
#include "ir/Cost.h"
#include "ir/Vision.h"

#include <algorithm>

namespace gradc::ir {

static double elements(const Value *v, int64_t batch) {
  auto n = numelFor(v->type().shape, batch);
  return n ? static_cast<double>(*n) : 0.0;
}

double nodeFlops(const Node &n, int64_t batch) {
  switch (n.op()) {
  case OpKind::MatMul:
  case OpKind::Bmm: {
    // [..., M,K] x [..., K,N]: the result holds (...)*M*N sums of K products.
    const Shape &a = n.input(0)->type().shape;
    int64_t k = n.attrs().getInt("transpose_a", 0) ? a[a.size() - 2] : a.back();
    if (k == kBatch)
      k = batch;
    return 2.0 * elements(n.result(), batch) * static_cast<double>(k);
  }
  case OpKind::Conv2d:
  case OpKind::Conv2dGradInput:
  case OpKind::Conv2dGradWeight: {
    // Each of the three is N*O*OH*OW sums of Cg*KH*KW products: the forward
    // pass's, its transpose's (dx) and the batch sum's (dw).
    auto g = convGeom(n);
    if (!g) {
      llvm::consumeError(g.takeError());
      break;
    }
    int64_t xn = n.op() == OpKind::Conv2dGradInput ? n.result()->type().shape[0]
                                                     : n.input(0)->type().shape[0];
    double samples = static_cast<double>(xn == kBatch ? batch : xn);
    return 2.0 * samples * static_cast<double>(g->o * g->outPixels() * g->colRows());
  }
  default:
    break;
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
