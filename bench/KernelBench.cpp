//===- bench/KernelBench.cpp - Compiled GEMM and training-step benchmarks -===//
//
// Each benchmark compiles a graph once with the JIT and times its step:
//   - GEMM: one matmul node, square 256/512/1024 and the MNIST MLP's skinny
//     shapes (forward [64,784]x[784,256] and its two backward forms);
//   - the MNIST MLP (examples/mlp_mnist.pbtxt): training step at batch 64,
//     inference at batch 1 and 256;
//   - conv2d forward and its two backward kernels on the lenet and resnet
//     workloads' shapes; softmax over the last axis (attention scores of the
//     gpt workload, a 1000-class output); the layer_norm layer (gpt's
//     [8, 64, 128]); an elementwise chain (x * sigmoid(x) + tanh(x) * 0.5,
//     as a fused loop would compute it in one pass); the training batch-norm
//     kernels on resnet's activations.
// Counters: GFLOP/s (2 FLOP per multiply-add of the matmuls and convolutions)
// and samples/s; for memory-bound kernels GB/s of the inputs read and the
// output written once.
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
  if (flops > 0)
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
    ->Args({512, 128, 512, 0, 1}) // gpt FFN up-projection x W^T (8 x 64 tokens)
    ->Args({512, 512, 128, 0, 0}) // gpt FFN: its input gradient dy W
    ->Args({512, 512, 128, 1, 0}) // gpt FFN: weight gradient dy^T x
    ->Args({16, 128, 512, 0, 1})  // lstm recurrent step h W_hh^T (batch 16)
    ->Args({16, 512, 128, 0, 0})  // lstm: its input gradient dg W_hh
    ->Args({512, 16, 128, 1, 0})  // lstm: one step of the W_hh gradient dg^T h
    ->Args({16, 144, 1024, 0, 0}) // resnet 3x3 conv, one sample: W * im2col(x)
    ->Args({16, 1024, 144, 0, 1}) // its weight gradient dy * im2col(x)^T
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

/// Runs the inference pipeline (expand-layers, infer-shapes, dce,
/// plan-memory) over a graph built in code and compiles it.
std::unique_ptr<rt::Executable> compileInference(ir::Graph &g) {
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  if (auto e = pm.setPipeline(passes::defaultPipeline(false)))
    fail(std::move(e));
  passes::PassContext ctx;
  if (auto e = pm.run(g, ctx))
    fail(std::move(e));
  return check(codegen::compileGraph(g));
}

/// GB/s of moving `bytes` per step.
void bytesCounter(benchmark::State &state, double bytes) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

/// conv2d (kind 0), its input gradient (1) or its weight gradient (2), on
/// x[N,C,H,W] and w[O,C,K,K] with padding P (stride 1).
void BM_Conv2d(benchmark::State &state) {
  setThreads();
  int64_t kind = state.range(0), n = state.range(1), c = state.range(2), hw = state.range(3),
          o = state.range(4), k = state.range(5), pad = state.range(6);
  int64_t out = hw + 2 * pad - k + 1;
  ir::Graph g;
  ir::Attrs attrs;
  attrs.set("padding", pad);
  ir::Builder builder(g, {});
  ir::Value *x = g.addInput("x", TensorType(DType::F32, {n, c, hw, hw}));
  ir::Value *w = g.addInput("w", TensorType(DType::F32, {o, c, k, k}));
  ir::Value *y;
  if (kind == 0) {
    y = check(builder.create(ir::OpKind::Conv2d, {x, w}, attrs, "y"));
  } else {
    ir::Value *dy = g.addInput("dy", TensorType(DType::F32, {n, o, out, out}));
    y = kind == 1 ? check(builder.create(ir::OpKind::Conv2dGradInput, {dy, w, x}, attrs, "dx"))
                  : check(builder.create(ir::OpKind::Conv2dGradWeight, {x, dy, w}, attrs, "dw"));
  }
  g.outputs.push_back(y);
  auto exe = check(codegen::compileGraph(g));
  timeSteps(state, *exe, 1, 2.0 * n * o * out * out * c * k * k, /*countSamples=*/false);
}
BENCHMARK(BM_Conv2d)
    ->ArgNames({"kind", "N", "C", "HW", "O", "K", "pad"})
    // lenet conv2: [64,6,14,14] * [16,6,5,5]; kind 0 forward, 1 dx, 2 dw
    ->Args({0, 64, 6, 14, 16, 5, 0})
    ->Args({1, 64, 6, 14, 16, 5, 0})
    ->Args({2, 64, 6, 14, 16, 5, 0})
    // resnet block conv: [32,16,32,32] * [16,16,3,3], padding 1
    ->Args({0, 32, 16, 32, 16, 3, 1})
    ->Args({1, 32, 16, 32, 16, 3, 1})
    ->Args({2, 32, 16, 32, 16, 3, 1})
    ->Unit(benchmark::kMicrosecond);

/// softmax over the last axis of [rows, cols].
void BM_Softmax(benchmark::State &state) {
  setThreads();
  int64_t rows = state.range(0), cols = state.range(1);
  ir::Graph g;
  ir::Value *x = g.addInput("x", TensorType(DType::F32, {rows, cols}));
  ir::Attrs attrs;
  attrs.set("axis", int64_t(-1));
  ir::Builder builder(g, {});
  g.outputs.push_back(check(builder.create(ir::OpKind::Softmax, {x}, attrs, "y")));
  auto exe = compileInference(g);
  timeSteps(state, *exe, 1, 0, /*countSamples=*/false);
  bytesCounter(state, 2.0 * rows * cols * 4);
}
BENCHMARK(BM_Softmax)
    ->ArgNames({"rows", "cols"})
    ->Args({8 * 4 * 64, 64})  // gpt attention scores [8, 4, 64, 64]
    ->Args({256, 1000})
    ->Unit(benchmark::kMicrosecond);

/// The layer_norm layer (expanded: mean, variance, normalize, scale, shift)
/// over the last axis of [N, T, D].
void BM_LayerNorm(benchmark::State &state) {
  setThreads();
  int64_t n = state.range(0), t = state.range(1), d = state.range(2);
  ir::Graph g;
  ir::Value *x = g.addInput("x", TensorType(DType::F32, {kBatch, t, d}));
  ir::Builder builder(g, {});
  g.outputs.push_back(check(builder.create(ir::OpKind::LayerNorm, {x}, {}, "y")));
  auto exe = compileInference(g);
  timeSteps(state, *exe, n, 0);
  bytesCounter(state, 2.0 * n * t * d * 4);
}
BENCHMARK(BM_LayerNorm)
    ->ArgNames({"N", "T", "D"})
    ->Args({8, 64, 128})  // gpt
    ->Unit(benchmark::kMicrosecond);

/// The training batch-norm kernels on resnet's activations [N, C, HW, HW]:
/// kind 0 batch_norm_train, 1 batch_norm_train_grad, 2 batch_norm_grad_gamma,
/// 3 batch_stats (the others read its [4, C] statistics). GB/s counts each
/// input tensor read and the output written once.
void BM_BatchNormTrain(benchmark::State &state) {
  setThreads();
  int64_t kind = state.range(0), n = state.range(1), c = state.range(2), hw = state.range(3);
  ir::Graph g;
  ir::Builder builder(g, {});
  TensorType act(DType::F32, {kBatch, c, hw, hw}), chan(DType::F32, {c}),
      stats(DType::F32, {4, c});
  ir::Value *x = g.addInput("x", act);
  ir::Value *y;
  int tensors = 2; // x read, the result written
  switch (kind) {
  case 0:
    y = check(builder.create(ir::OpKind::BatchNormTrain,
                             {x, g.addInput("gamma", chan), g.addInput("beta", chan),
                              g.addInput("stats", stats)},
                             {}, "y"));
    break;
  case 1:
    y = check(builder.create(ir::OpKind::BatchNormTrainGrad,
                             {x, g.addInput("gamma", chan), g.addInput("dy", act),
                              g.addInput("stats", stats), g.addInput("dgamma", chan),
                              g.addInput("dbeta", chan)},
                             {}, "dx"));
    tensors = 3;
    break;
  case 2:
    y = check(builder.create(ir::OpKind::BatchNormGradGamma,
                             {x, g.addInput("dy", act), g.addInput("stats", stats)}, {},
                             "dgamma"));
    break;
  default:
    y = check(builder.create(ir::OpKind::BatchStats, {x}, {}, "stats"));
    tensors = 1;
    break;
  }
  g.outputs.push_back(y);
  auto exe = check(codegen::compileGraph(g));
  timeSteps(state, *exe, n, 0, /*countSamples=*/false);
  bytesCounter(state, double(tensors) * n * c * hw * hw * 4);
}
BENCHMARK(BM_BatchNormTrain)
    ->ArgNames({"kind", "N", "C", "HW"})
    ->ArgsProduct({{0, 1, 2, 3}, {32}, {16}, {32}}) // resnet's [32, 16, 32, 32]
    ->Unit(benchmark::kMicrosecond);

/// y = x * sigmoid(x) + tanh(x) * 0.5 over [N, 4096]: five elementwise ops.
void BM_ElementwiseChain(benchmark::State &state) {
  setThreads();
  int64_t n = state.range(0), width = 4096;
  ir::Graph g;
  ir::Value *x = g.addInput("x", TensorType(DType::F32, {kBatch, width}));
  ir::Builder builder(g, {});
  auto op = [&](ir::OpKind k, std::vector<ir::Value *> ins, ir::Attrs a = {}) {
    return check(builder.create(k, ins, std::move(a)));
  };
  ir::Attrs half;
  half.set("value", 0.5);
  half.set("shape", std::vector<int64_t>{});
  ir::Value *s = op(ir::OpKind::Mul, {x, op(ir::OpKind::Sigmoid, {x})});
  ir::Value *t = op(ir::OpKind::Mul, {op(ir::OpKind::Tanh, {x}), op(ir::OpKind::Constant, {}, half)});
  g.outputs.push_back(op(ir::OpKind::Add, {s, t}));
  auto exe = compileInference(g);
  timeSteps(state, *exe, n, 0);
  bytesCounter(state, 2.0 * n * width * 4);
}
BENCHMARK(BM_ElementwiseChain)->ArgName("N")->Arg(64)->Arg(1024)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
