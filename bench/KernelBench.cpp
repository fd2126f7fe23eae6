//===- bench/KernelBench.cpp - Compiled GEMM and training-step benchmarks -===//
//
// Each benchmark compiles a graph once with the JIT and times its step:
//   - GEMM: one matmul node, square 256/512/1024 and the MNIST MLP's skinny
//     shapes (forward [64,784]x[784,256] and its two backward forms);
//   - the MNIST MLP (examples/mlp_mnist.pbtxt): training step at batch 64,
//     inference at batch 1 and 256.
// Counters: GFLOP/s (2 FLOP per multiply-add of the matmuls) and samples/s.
// Threads: $GRADC_THREADS (default 1).
//
//===----------------------------------------------------------------------===//
#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"
#include "runtime/Session.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/raw_ostream.h"

#include <benchmark/benchmark.h>

#include <cstdlib>

using namespace gradc;

namespace {

[[noreturn]] void fail(llvm::Error e) {
  llvm::errs() << "gradc-bench: " << llvm::toString(std::move(e)) << "\n";
  std::exit(1);
}

template <typename T> T check(llvm::Expected<T> v) {
  if (!v)
    fail(v.takeError());
  return std::move(*v);
}

void setThreads() {
  const char *env = std::getenv("GRADC_THREADS");
  rt::setNumThreads(env ? static_cast<unsigned>(std::atoi(env)) : 1);
}

/// Runs `exe` at `batch` under the benchmark loop (params from seed 1).
void timeSteps(benchmark::State &state, rt::Executable &exe, int64_t batch, double flops,
               bool countSamples = true) {
  rt::ParamStore params;
  if (auto e = params.initialize(exe.buffers(), 1))
    fail(std::move(e));
  rt::Session s(exe, params);
  if (auto e = s.setBatch(batch))
    fail(std::move(e));
  for (size_t i = 0; i < s.buffers().size(); ++i) {
    const rt::BufferDesc &d = s.buffers()[i];
    rt::Tensor &t = s.buffer(i);
    if (d.role == rt::BufferRole::HyperInput)
      t.f32()[0] = 0.01f;
    else if (d.role == rt::BufferRole::Input && d.dtype == DType::F32)
      for (int64_t j = 0; j < t.numel(); ++j)
        t.f32()[j] = static_cast<float>((j * 7919) % 1000) / 1000.0f;
    else if (d.role == rt::BufferRole::Input)
      for (int64_t j = 0; j < t.numel(); ++j)
        t.i32()[j] = static_cast<int32_t>(j % 10);
  }
  for (auto _ : state)
    if (auto e = s.run())
      fail(std::move(e));
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  if (countSamples)
    state.counters["samples/s"] = benchmark::Counter(static_cast<double>(batch),
                                                     benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gemm(benchmark::State &state) {
  setThreads();
  int64_t m = state.range(0), k = state.range(1), n = state.range(2);
  bool ta = state.range(3), tb = state.range(4);
  ir::Graph g;
  ir::Value *a = g.addInput("a", TensorType(DType::F32, ta ? Shape{k, m} : Shape{m, k}));
  ir::Value *b = g.addInput("b", TensorType(DType::F32, tb ? Shape{n, k} : Shape{k, n}));
  ir::Attrs attrs;
  attrs.set("transpose_a", int64_t(ta));
  attrs.set("transpose_b", int64_t(tb));
  ir::Builder builder(g, {});
  g.outputs.push_back(check(builder.create(ir::OpKind::MatMul, {a, b}, attrs, "c")));
  auto exe = check(codegen::compileGraph(g));
  timeSteps(state, *exe, 1, 2.0 * m * k * n, /*countSamples=*/false);
}
BENCHMARK(BM_Gemm)
    ->ArgNames({"M", "K", "N", "ta", "tb"})
    ->Args({256, 256, 256, 0, 0})
    ->Args({512, 512, 512, 0, 0})
    ->Args({1024, 1024, 1024, 0, 0})
    ->Args({64, 784, 256, 0, 0})  // mlp forward
    ->Args({784, 64, 256, 1, 0})  // mlp weight gradient x^T dy
    ->Args({64, 256, 784, 0, 1})  // input gradient dy W^T (shape of layer 1)
    ->Unit(benchmark::kMicrosecond);

std::unique_ptr<ir::Graph> mlpGraph(bool training) {
  auto g = check(frontend::loadModelFile(GRADC_SOURCE_DIR "/examples/mlp_mnist.pbtxt"));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  if (auto e = pm.setPipeline(passes::defaultPipeline(training)))
    fail(std::move(e));
  passes::PassContext ctx;
  ctx.training = training;
  if (auto e = pm.run(*g, ctx))
    fail(std::move(e));
  return g;
}

void BM_MlpTrainStep(benchmark::State &state) {
  setThreads();
  auto g = mlpGraph(true);
  auto exe = check(codegen::compileGraph(*g));
  int64_t batch = state.range(0);
  // Forward 2 FLOP per MAC; backward: weight gradients of both layers and the
  // input gradient of layer 2 (layer 1's input gradient is not computed).
  double fwd = 2.0 * batch * (784 * 256 + 256 * 10);
  timeSteps(state, *exe, batch, fwd + 2.0 * batch * (784 * 256 + 2 * 256 * 10));
}
BENCHMARK(BM_MlpTrainStep)->ArgName("batch")->Arg(64)->Unit(benchmark::kMicrosecond);

void BM_MlpInfer(benchmark::State &state) {
  setThreads();
  auto g = mlpGraph(false);
  auto exe = check(codegen::compileGraph(*g));
  int64_t batch = state.range(0);
  timeSteps(state, *exe, batch, 2.0 * batch * (784 * 256 + 256 * 10));
}
BENCHMARK(BM_MlpInfer)->ArgName("batch")->Arg(1)->Arg(256)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
