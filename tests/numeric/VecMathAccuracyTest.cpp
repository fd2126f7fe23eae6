//===- tests/numeric/VecMathAccuracyTest.cpp - Error of generated exp/log/... ===//
//
// The JIT's exp, log, tanh and sigmoid (codegen/VecMath.cpp: polynomials,
// no libm calls) against the double-precision libm value rounded to f32,
// over dense sweeps of their useful ranges. The error is measured in units
// in the last place (ulp) of the f32 reference; docs/ARCHITECTURE.md states
// the maxima this test measures. A regression beyond the bounds fails.
//
//===----------------------------------------------------------------------===//
#include "codegen/Jit.h"
#include "tests/numeric/NumericUtil.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

namespace gradc::test {
namespace {

using ir::OpKind;

/// Distance in ulps between `got` and the f32 rounding of `want`.
double ulpError(float got, double want) {
  float ref = static_cast<float>(want);
  if (got == ref)
    return 0;
  float ulp = std::nextafter(std::fabs(ref), INFINITY) - std::fabs(ref);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

struct Sweep {
  OpKind op;
  double (*ref)(double);
  float lo, hi;
  bool logSpaced;
  double maxUlp; // the bound this test enforces
};

TEST(VecMath, ErrorAgainstLibmStaysWithinBounds) {
  const Sweep sweeps[] = {
      {OpKind::Exp, [](double x) { return std::exp(x); }, -87.0f, 88.0f, false, 2},
      {OpKind::Log, [](double x) { return std::log(x); }, 1e-30f, 1e30f, true, 2},
      {OpKind::Log, [](double x) { return std::log(x); }, 0.5f, 2.0f, false, 2},
      {OpKind::Tanh, [](double x) { return std::tanh(x); }, -9.0f, 9.0f, false, 3},
      {OpKind::Sigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, -30.0f, 30.0f,
       false, 4},
  };
  const int64_t n = 1 << 18;
  auto jitFactory = [](const ir::Graph &g) { return codegen::compileGraph(g); };
  for (const Sweep &s : sweeps) {
    SCOPED_TRACE(ir::opName(s.op).str());
    std::vector<float> xs(n);
    for (int64_t i = 0; i < n; ++i) {
      double t = static_cast<double>(i) / (n - 1);
      xs[i] = static_cast<float>(s.logSpaced ? std::exp(std::log(s.lo) +
                                                        t * (std::log(s.hi) - std::log(s.lo)))
                                             : s.lo + t * (s.hi - s.lo));
    }
    rt::Tensor y = expectOk(runOneOp(s.op, {operand(tensorOf({n}, xs))}, {}, 1, jitFactory));
    double worst = 0;
    float worstAt = 0;
    for (int64_t i = 0; i < n; ++i) {
      double e = ulpError(y.f32()[i], s.ref(xs[i]));
      if (e > worst) {
        worst = e;
        worstAt = xs[i];
      }
    }
    std::printf("%-8s [%g, %g]: max error %.2f ulp at x = %.9g\n",
                ir::opName(s.op).str().c_str(), s.lo, s.hi, worst, worstAt);
    EXPECT_LE(worst, s.maxUlp) << "at x = " << worstAt;
  }
}

} // namespace
} // namespace gradc::test
