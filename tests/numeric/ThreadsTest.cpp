//===- tests/numeric/ThreadsTest.cpp - Threaded kernels and the pool ------===//
//
// The thread pool (runtime/ThreadPool.h): every index of a parallel loop
// runs exactly once for many (n, grain, threads), including n below the
// thread count; workers really run chunks alongside the caller; nested and
// concurrent calls, many tiny jobs, jobs after workers went to sleep, and
// pools replaced between jobs all finish.
//
// Threaded kernels (codegen): every matmul transpose variant, on the MNIST
// MLP's shapes (forward [64,784]x[784,256], weight gradient with the
// contraction over the batch, input gradient), shapes with edge tiles in
// both dimensions, and a tiny one, gives bitwise the same result (memcmp)
// with 1, 2 and 3 threads, and agrees with the interpreter; also on AVX2
// and SSE2 targets (other tile grids). So do large elementwise maps (flat
// and broadcasting) and a whole MNIST MLP training step built by the
// default pipeline, over several steps; and transposes, bmm, reductions
// and cross-entropy. Matmul
// tolerances follow
// JitTest.cpp: the interpreter sums in double, the JIT in f32, so
// atol = K * 2^-22 for inputs in [-1, 1).
//
//===----------------------------------------------------------------------===//
#include "tests/numeric/NumericUtil.h"

#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"
#include "runtime/Session.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

using namespace gradc;
using namespace gradc::test;
using ir::OpKind;

namespace {

/// Leaves the process-wide pool at one thread after each test.
class Threads : public ::testing::Test {
protected:
  void TearDown() override { rt::setNumThreads(1); }
};

// ---- The pool -------------------------------------------------------------------

struct Coverage {
  std::vector<std::atomic<int>> hits;
  int64_t grain = 1;
  std::atomic<int> calls{0}, smallChunks{0}, badRanges{0};
  explicit Coverage(int64_t n) : hits(n) {}
};

void mark(void *ctx, int64_t begin, int64_t end) {
  auto *c = static_cast<Coverage *>(ctx);
  c->calls.fetch_add(1);
  if (begin < 0 || end > static_cast<int64_t>(c->hits.size()) || begin >= end) {
    c->badRanges.fetch_add(1);
    return;
  }
  if (end - begin < c->grain)
    c->smallChunks.fetch_add(1);
  for (int64_t i = begin; i < end; ++i)
    c->hits[i].fetch_add(1);
}

TEST_F(Threads, PoolRunsEveryIndexExactlyOnce) {
  for (unsigned threads : {1u, 2u, 3u, 4u, 7u}) {
    rt::setNumThreads(threads);
    ASSERT_EQ(rt::numThreads(), threads);
    for (int64_t n : {0, 1, 2, 3, 5, 6, 7, 8, 13, 64, 1000, 4099})
      for (int64_t grain : {0, 1, 2, 3, 100, 5000}) {
        SCOPED_TRACE("threads " + std::to_string(threads) + " n " + std::to_string(n) +
                     " grain " + std::to_string(grain));
        Coverage c(n);
        c.grain = std::max<int64_t>(grain, 1);
        gradc_parallel_for(&mark, &c, n, grain);
        EXPECT_EQ(c.badRanges.load(), 0);
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(c.hits[i].load(), 1) << "index " << i;
        if (n == 0) {
          EXPECT_EQ(c.calls.load(), 0) << "an empty loop ran its body";
        }
        // A loop of at least `grain` iterations is never cut below it.
        if (n >= c.grain)
          EXPECT_EQ(c.smallChunks.load(), 0);
        else
          EXPECT_LE(c.calls.load(), 1);
      }
  }
}

TEST_F(Threads, PoolThreadCountIsClampedAndZeroMeansEveryCore) {
  rt::setNumThreads(0);
  EXPECT_EQ(rt::numThreads(), std::max(1u, std::thread::hardware_concurrency()));
  rt::setNumThreads(1u << 30);
  EXPECT_EQ(rt::numThreads(), rt::kMaxThreads);
  Coverage c(10000);
  gradc_parallel_for(&mark, &c, 10000, 1);
  for (int64_t i = 0; i < 10000; ++i)
    ASSERT_EQ(c.hits[i].load(), 1) << "index " << i;
}

/// Two chunks, each waiting (up to a generous timeout) until the other has
/// started: they can only both finish promptly if two threads run them.
struct Rendezvous {
  std::atomic<int> started{0};
  std::atomic<bool> metEachOther{true};
  std::atomic<int> distinctThreads{0};
};

void meet(void *ctx, int64_t begin, int64_t end) {
  auto *r = static_cast<Rendezvous *>(ctx);
  r->started.fetch_add(static_cast<int>(end - begin));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (r->started.load() < 2)
    if (std::chrono::steady_clock::now() > deadline) {
      r->metEachOther = false;
      return;
    }
}

TEST_F(Threads, PoolWorkersRunChunksAlongsideTheCaller) {
  rt::setNumThreads(2);
  for (int round = 0; round < 20; ++round) {
    Rendezvous r;
    gradc_parallel_for(&meet, &r, 2, 1);
    ASSERT_TRUE(r.metEachOther.load()) << "round " << round << ": one thread ran both chunks";
    // Every other round lets the worker fall asleep before the next job.
    if (round % 2)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST_F(Threads, PoolFinishesManySmallJobs) {
  for (unsigned threads : {2u, 3u}) {
    rt::setNumThreads(threads);
    Coverage c(3);
    for (int i = 0; i < 10000; ++i) {
      gradc_parallel_for(&mark, &c, 3, 1);
      // Now and then, long enough for the workers to stop spinning and sleep.
      if (i % 1000 == 999)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(c.hits[i].load(), 10000) << "threads " << threads << " index " << i;
  }
}

struct Nested {
  Coverage inner{64};
  std::atomic<int> outer{0};
};

void nestedBody(void *ctx, int64_t begin, int64_t end) {
  auto *n = static_cast<Nested *>(ctx);
  for (int64_t i = begin; i < end; ++i) {
    n->outer.fetch_add(1);
    // Each outer iteration marks its own 8 inner indices through the pool.
    struct Slice {
      Coverage *c;
      int64_t base;
    } s{&n->inner, i * 8};
    gradc_parallel_for(
        [](void *p, int64_t b, int64_t e) {
          auto *s = static_cast<Slice *>(p);
          mark(s->c, s->base + b, s->base + e);
        },
        &s, 8, 1);
  }
}

TEST_F(Threads, PoolRunsNestedAndConcurrentCallsInline) {
  rt::setNumThreads(3);
  Nested n;
  gradc_parallel_for(&nestedBody, &n, 8, 1);
  EXPECT_EQ(n.outer.load(), 8);
  for (int64_t i = 0; i < 64; ++i)
    ASSERT_EQ(n.inner.hits[i].load(), 1) << "index " << i;

  // Two threads issuing jobs at once: each job still covers its range once.
  Coverage a(5000), b(5000);
  auto issue = [](Coverage *c) {
    for (int rep = 0; rep < 200; ++rep)
      gradc_parallel_for(&mark, c, 5000, 16);
  };
  std::thread ta(issue, &a), tb(issue, &b);
  ta.join();
  tb.join();
  for (int64_t i = 0; i < 5000; ++i) {
    ASSERT_EQ(a.hits[i].load(), 200) << "index " << i;
    ASSERT_EQ(b.hits[i].load(), 200) << "index " << i;
  }
}

TEST_F(Threads, PoolCanBeReplacedBetweenJobs) {
  Coverage c(100);
  for (int i = 0; i < 200; ++i) {
    rt::setNumThreads(1 + i % 4);
    gradc_parallel_for(&mark, &c, 100, 1);
  }
  for (int64_t i = 0; i < 100; ++i)
    ASSERT_EQ(c.hits[i].load(), 200) << "index " << i;
}

// ---- Matmul kernels ---------------------------------------------------------------

/// C[M,Nn] = op(A) op(B); `batchDim` names a logical dimension declared as N
/// ('M', 'K' or 'N'), or 0 for none. The stored shapes follow the flags.
struct MatMulCase {
  int64_t m, k, n;
  bool ta, tb;
  char batchDim = 0;
};

std::string caseName(const MatMulCase &c) {
  std::string s = "[" + std::to_string(c.m) + "," + std::to_string(c.k) + "]x[" +
                  std::to_string(c.k) + "," + std::to_string(c.n) + "]";
  s += c.ta ? " ta" : "";
  s += c.tb ? " tb" : "";
  if (c.batchDim)
    s += std::string(" (") + c.batchDim + " = N)";
  return s;
}

/// Runs `exe` on `inputs` (name, value) with 1, 2 and 3 threads and returns
/// its result `out` of each run.
std::vector<rt::Tensor>
runWithThreads(rt::Executable &exe, int64_t batch,
               const std::vector<std::pair<std::string, rt::Tensor>> &inputs,
               const std::string &out = "c") {
  std::vector<rt::Tensor> results;
  for (unsigned threads : {1u, 2u, 3u}) {
    rt::setNumThreads(threads);
    BoundBuffers bufs(exe, batch);
    for (const auto &[name, value] : inputs)
      bufs.set(name, value);
    // Poison the result: every element must be written by some chunk.
    rt::Tensor &r = bufs.get(out);
    std::memset(r.data(), 0xff, r.bytes());
    expectOk(bufs.run());
    results.push_back(r);
  }
  return results;
}

::testing::AssertionResult bitwiseEqual(const rt::Tensor &a, const rt::Tensor &b) {
  if (a.shape() != b.shape() || a.bytes() != b.bytes())
    return ::testing::AssertionFailure() << "shapes differ";
  if (std::memcmp(a.data(), b.data(), a.bytes()) == 0)
    return ::testing::AssertionSuccess();
  int64_t first = 0;
  while (std::memcmp(&a.f32()[first], &b.f32()[first], 4) == 0)
    ++first;
  return ::testing::AssertionFailure()
         << "first difference at flat index " << first << ": " << a.f32()[first] << " vs "
         << b.f32()[first];
}

/// Result `out` of `exe` on `inputs` is bitwise the same with 1, 2 and 3
/// threads, and within (rtol, atol) of the interpreter `ref`.
void expectSameForAnyThreadCount(rt::Executable &exe, rt::Executable &ref, int64_t batch,
                                 const std::vector<std::pair<std::string, rt::Tensor>> &inputs,
                                 const std::string &out, double rtol, double atol) {
  std::vector<rt::Tensor> got = runWithThreads(exe, batch, inputs, out);
  EXPECT_TRUE(bitwiseEqual(got[1], got[0])) << "2 threads vs 1";
  EXPECT_TRUE(bitwiseEqual(got[2], got[0])) << "3 threads vs 1";
  BoundBuffers e(ref, batch);
  for (const auto &[name, value] : inputs)
    e.set(name, value);
  expectOk(e.run());
  EXPECT_TRUE(allClose(got[0], e.get(out), rtol, atol));
}

void checkMatMul(const MatMulCase &c, uint64_t seed, const codegen::CodegenOptions &opts = {}) {
  SCOPED_TRACE(caseName(c) + (opts.cpu.empty() ? "" : " on " + opts.cpu));
  auto decl = [&](char dim, int64_t size) { return c.batchDim == dim ? kBatch : size; };
  Shape a = c.ta ? Shape{decl('K', c.k), decl('M', c.m)} : Shape{decl('M', c.m), decl('K', c.k)};
  Shape b = c.tb ? Shape{decl('N', c.n), decl('K', c.k)} : Shape{decl('K', c.k), decl('N', c.n)};
  int64_t batch = c.batchDim == 'M' ? c.m : c.batchDim == 'K' ? c.k : c.n;

  GraphMaker gm;
  ir::Value *av = gm.input("a", f32Type(a));
  ir::Value *bv = gm.input("b", f32Type(b));
  ir::Value *cv = gm.op(OpKind::MatMul, {av, bv},
                        attrs({{"transpose_a", int64_t(c.ta)}, {"transpose_b", int64_t(c.tb)}}),
                        "c");
  ASSERT_NE(cv, nullptr);
  gm.graph().outputs.push_back(cv);
  auto exe = expectOk(codegen::compileGraph(gm.graph(), opts));
  auto ref = interp::makeInterpreter(gm.graph());

  TensorRng rng(seed);
  rt::Tensor at = rng.uniform(bindBatch(a, batch), -1, 1);
  rt::Tensor bt = rng.uniform(bindBatch(b, batch), -1, 1);
  std::vector<rt::Tensor> got = runWithThreads(*exe, batch, {{"a", at}, {"b", bt}});
  EXPECT_TRUE(bitwiseEqual(got[1], got[0])) << "2 threads vs 1";
  EXPECT_TRUE(bitwiseEqual(got[2], got[0])) << "3 threads vs 1";

  BoundBuffers e(*ref, batch);
  e.set("a", at);
  e.set("b", bt);
  expectOk(e.run());
  EXPECT_TRUE(allClose(got[0], e.get("c"), 1e-6, c.k * 0x1p-22));
}

TEST_F(Threads, MatMulIsBitwiseTheSameForAnyThreadCount) {
  // (M, K, Nn): the MLP's forward product and its weight gradient (K = 64
  // is the batch), edge tiles in both dimensions of C, and a tiny product
  // that stays on one thread. Each in every transpose variant.
  const int64_t shapes[][3] = {{64, 784, 256}, {784, 64, 256}, {67, 300, 131}, {5, 3, 7}};
  uint64_t seed = 1;
  for (const auto &s : shapes)
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        checkMatMul({s[0], s[1], s[2], ta, tb}, seed++);
}

TEST_F(Threads, MatMulWithTheBatchInAnyDimension) {
  // As the MLP's step declares them: x[N,784] W1, x^T dh (contraction over
  // N), dh W^T (the dot-product kernel), and a packed-B^T product of N rows.
  checkMatMul({64, 784, 256, false, false, 'M'}, 11);
  checkMatMul({784, 64, 256, true, false, 'K'}, 12);
  checkMatMul({64, 256, 784, false, true, 'M'}, 13);
  checkMatMul({64, 10, 256, false, true, 'M'}, 14);
  checkMatMul({131, 37, 67, true, true, 'N'}, 15);
}

TEST_F(Threads, MatMulOnOlderCpusToo) {
  // AVX2 (8 lanes, 2-vector tiles) and SSE2 (4 lanes): other tile grids.
  for (const char *cpu : {"haswell", "x86-64"}) {
    codegen::CodegenOptions o;
    o.cpu = cpu;
    checkMatMul({67, 300, 131, false, false}, 21, o);
    checkMatMul({784, 64, 256, true, false, 'K'}, 22, o);
    checkMatMul({67, 300, 131, false, true}, 23, o);
  }
}

TEST_F(Threads, MatMulKernelCallsThePool) {
  GraphMaker gm;
  ir::Value *a = gm.input("a", f32Type({kBatch, 784}));
  ir::Value *b = gm.input("b", f32Type({784, 256}));
  gm.graph().outputs.push_back(gm.op(OpKind::MatMul, {a, b}, {}, "c"));
  std::string ir;
  codegen::CodegenOptions o;
  o.llvmIROut = &ir;
  auto exe = expectOk(codegen::compileGraph(gm.graph(), o));
  EXPECT_NE(ir.find("call void @gradc_parallel_for(ptr nonnull @gradc_k0_matmul.par"),
            std::string::npos)
      << ir;
}

// ---- Elementwise maps -------------------------------------------------------------

/// y = op(x0, x1, ...) on random inputs, at `batch`: bitwise the same for 1,
/// 2 and 3 threads, and within (rtol, atol) of the interpreter.
void checkMap(OpKind op, const std::vector<Shape> &shapes, int64_t batch, double rtol,
              double atol, const ir::Attrs &opAttrs = {}, float lo = -2, float hi = 2) {
  SCOPED_TRACE(std::string(ir::opName(op)) + " at batch " + std::to_string(batch));
  GraphMaker gm;
  std::vector<ir::Value *> ins;
  for (size_t i = 0; i < shapes.size(); ++i)
    ins.push_back(gm.input(operandName(i), f32Type(shapes[i])));
  ir::Value *y = gm.op(op, ins, opAttrs, "y");
  ASSERT_NE(y, nullptr);
  gm.graph().outputs.push_back(y);
  auto exe = expectOk(codegen::compileGraph(gm.graph()));
  auto ref = interp::makeInterpreter(gm.graph());

  TensorRng rng(static_cast<uint64_t>(op) * 7 + batch);
  std::vector<std::pair<std::string, rt::Tensor>> inputs;
  for (size_t i = 0; i < shapes.size(); ++i)
    inputs.emplace_back(operandName(i), rng.uniform(bindBatch(shapes[i], batch), lo, hi));
  expectSameForAnyThreadCount(*exe, *ref, batch, inputs, "y", rtol, atol);
}

TEST_F(Threads, LargeMapsAreBitwiseTheSameForAnyThreadCount) {
  // Flat maps big enough to split, with an element count that is no
  // multiple of any vector width (tanh: a polynomial with a vector body and
  // a remainder), and one of fixed size, like an SGD update of W1.
  checkMap(OpKind::Tanh, {{kBatch, 1001}}, 301, 1e-5, 1e-6);
  checkMap(OpKind::Sub, {{784, 256}, {784, 256}}, 1, 0, 0);
  // Broadcasting nests, split by rows: a bias add and a scalar scale.
  checkMap(OpKind::Add, {{kBatch, 513}, {513}}, 700, 0, 0);
  checkMap(OpKind::Mul, {{}, {kBatch, 300}}, 1000, 0, 0);
  // The same kernels at sizes that stay on one thread, and an empty batch.
  checkMap(OpKind::Tanh, {{kBatch, 1001}}, 3, 1e-5, 1e-6);
  checkMap(OpKind::Add, {{kBatch, 513}, {513}}, 0, 0, 0);
}

// Copies split by their outermost loop: a 2-D transpose (tiled; threads
// take rows of tiles, [785,257] leaves partial tiles), attention's head
// split [N,T,H,D] -> [N,H,T,D] (whole rows) and its 3-D tiled cousin; and
// bmm with transpose_b, which packs each batch's B in its thread's scratch.
TEST_F(Threads, TransposesAndBmmAreBitwiseTheSameForAnyThreadCount) {
  using Ints = std::vector<int64_t>;
  checkMap(OpKind::Transpose, {{785, 257}}, 1, 0, 0);
  checkMap(OpKind::Transpose, {{kBatch, 64, 4, 32}}, 8, 0, 0, attrs({{"perm", Ints{0, 2, 1, 3}}}));
  checkMap(OpKind::Transpose, {{kBatch, 64, 130}}, 9, 0, 0, attrs({{"perm", Ints{0, 2, 1}}}));
  checkMap(OpKind::Bmm, {{kBatch, 4, 64, 32}, {kBatch, 4, 64, 32}}, 8, 1e-5, 32 * 0x1p-20,
           attrs({{"transpose_b", int64_t(1)}}));
  checkMap(OpKind::Bmm, {{kBatch, 4, 64, 64}, {kBatch, 4, 64, 32}}, 8, 1e-5, 64 * 0x1p-20,
           attrs({{"transpose_a", int64_t(1)}}));
}

// Sums split by their outermost kept dimension: a bias gradient (columns),
// a layer norm's row means (rows), a middle axis, and a full sum that stays
// on one thread. Each output sums its terms in the same order on any thread.
TEST_F(Threads, ReductionsAreBitwiseTheSameForAnyThreadCount) {
  using Ints = std::vector<int64_t>;
  checkMap(OpKind::ReduceSum, {{kBatch, 64, 130}}, 8, 1e-5, 512 * 0x1p-21,
           attrs({{"axes", Ints{0, 1}}}));
  checkMap(OpKind::ReduceMean, {{kBatch, 64, 130}}, 8, 1e-5, 1e-6, attrs({{"axes", Ints{2}}}));
  checkMap(OpKind::ReduceSum, {{kBatch, 50, 700}}, 3, 1e-5, 50 * 0x1p-21,
           attrs({{"axes", Ints{1}}}));
  checkMap(OpKind::ReduceSum, {{kBatch, 300}}, 200, 1e-5, 1e-2, attrs({{"axes", Ints{0, 1}}}));
}

// layer_norm_rows and its gradients on gpt's rows ([N,16,128], 208 rows at
// batch 13): rows split across threads; the weight gradient sums fixed
// chunks of rows, then the chunks in order.
TEST_F(Threads, LayerNormIsBitwiseTheSameForAnyThreadCount) {
  ir::Attrs a = attrs({{"dims", int64_t(1)}, {"eps", 1e-5}});
  const int64_t N = kBatch;
  checkMap(OpKind::LayerNormRows, {{N, 16, 128}, {128}, {128}}, 13, 1e-5, 1e-5, a);
  checkMap(OpKind::LayerNormRowsGrad, {{N, 16, 128}, {128}, {N, 16, 128}}, 13, 1e-5, 1e-5, a);
  checkMap(OpKind::LayerNormRowsGradWeight, {{N, 16, 128}, {N, 16, 128}}, 13, 1e-5, 1e-4, a);
}

// Cross-entropy over 512 rows of 256 classes (gpt's head) and its gradient,
// rows split across threads; the loss sums the rows' losses in order.
TEST_F(Threads, CrossEntropyIsBitwiseTheSameForAnyThreadCount) {
  GraphMaker gm;
  ir::Value *x = gm.input("x", f32Type({kBatch, 256}));
  ir::Value *y = gm.input("y", i32Type({kBatch}));
  ir::Value *d = gm.input("d", f32Type({}));
  ir::Value *loss = gm.op(OpKind::SoftmaxCrossEntropy, {x, y}, {}, "loss");
  ir::Value *grad = gm.op(OpKind::SoftmaxCrossEntropyGrad, {x, y, d}, {}, "grad");
  ASSERT_NE(loss, nullptr);
  ASSERT_NE(grad, nullptr);
  gm.graph().outputs = {loss, grad};
  auto exe = expectOk(codegen::compileGraph(gm.graph()));
  auto ref = interp::makeInterpreter(gm.graph());
  TensorRng rng(11);
  const int64_t batch = 512;
  std::vector<std::pair<std::string, rt::Tensor>> inputs = {
      {"x", rng.uniform({batch, 256}, -4, 4)}, {"y", rng.labels({batch}, 256)},
      {"d", rng.uniform({}, 0.5, 2)}};
  for (const char *out : {"loss", "grad"}) {
    SCOPED_TRACE(out);
    expectSameForAnyThreadCount(*exe, *ref, batch, inputs, out, 1e-5, 1e-6);
  }
}

// ---- A whole training step ----------------------------------------------------------

std::unique_ptr<ir::Graph> mnistTrainingGraph() {
  auto g = expectOk(frontend::loadModelFile(sourcePath("examples/mlp_mnist.pbtxt")));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  expectOk(pm.setPipeline(passes::defaultPipeline(true)));
  passes::PassContext ctx;
  ctx.training = true;
  expectOk(pm.run(*g, ctx));
  return g;
}

/// Runs `steps` training steps of `exe` at batch 64 from the model's seeded
/// params on one fixed random batch; returns every param and the loss.
std::map<std::string, rt::Tensor> train(rt::Executable &exe, const ir::Graph &g, int steps) {
  rt::ParamStore params;
  expectOk(params.initialize(exe.buffers(), g.training.seed));
  rt::Session s(exe, params);
  expectOk(s.setBatch(64));
  TensorRng rng(42);
  rt::Tensor x = rng.uniform({64, 784}, 0, 1), y = rng.labels({64}, 10);
  std::memcpy(s.find("x")->data(), x.data(), x.bytes());
  std::memcpy(s.find("y")->data(), y.data(), y.bytes());
  s.find("lr")->f32()[0] = 0.1f;
  for (int i = 0; i < steps; ++i)
    expectOk(s.run());
  std::map<std::string, rt::Tensor> out;
  for (const auto &[name, t] : params.all())
    out.emplace(name, t);
  out.emplace("loss", *s.findRole(rt::BufferRole::Loss));
  return out;
}

TEST_F(Threads, MnistTrainingStepIsBitwiseTheSameForAnyThreadCount) {
  auto g = mnistTrainingGraph();
  auto exe = expectOk(codegen::compileGraph(*g));
  rt::setNumThreads(1);
  auto one = train(*exe, *g, 3);
  ASSERT_EQ(one.count("W1"), 1u);
  for (unsigned threads : {2u, 3u}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    rt::setNumThreads(threads);
    auto many = train(*exe, *g, 3);
    ASSERT_EQ(many.size(), one.size());
    for (const auto &[name, t] : one) {
      SCOPED_TRACE(name);
      EXPECT_TRUE(bitwiseEqual(many.at(name), t));
    }
  }

  // And it computes the right thing: the interpreter after the same steps.
  // Three SGD steps move W1 by about 1e-2; sums run over 784 (forward) and
  // 64 (gradient) terms in f32.
  rt::setNumThreads(1);
  auto ref = interp::makeInterpreter(*g);
  auto want = train(*ref, *g, 3);
  for (const auto &[name, t] : want) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(allClose(one.at(name), t, 1e-4, 1e-5));
  }
  EXPECT_GT(maxAbsDiff(one.at("W1"), train(*ref, *g, 0).at("W1")), 1e-4)
      << "the steps did not update W1";
}

} // namespace

// Vision kernels: conv2d and its input gradient split the batch, the weight
// gradient sums fixed chunks of it in parallel, the training batch norm
// splits channels. Batch 13 leaves a partial last chunk; the tolerance
// against the interpreter is the f32 sum of up to 13*100 products of
// values in [-2, 2] (13*256 for the direct convs' weight gradient).
TEST_F(Threads, VisionKernelsAreBitwiseTheSameForAnyThreadCount) {
  const int64_t N = kBatch;
  checkMap(OpKind::Conv2d, {{N, 3, 12, 12}, {8, 3, 3, 3}, {8}}, 13, 1e-5, 1e-4);
  checkMap(OpKind::Conv2dGradInput, {{N, 8, 10, 10}, {8, 3, 3, 3}, {N, 3, 12, 12}}, 13, 1e-5,
           1e-4);
  checkMap(OpKind::Conv2dGradWeight, {{N, 3, 12, 12}, {N, 8, 10, 10}, {8, 3, 3, 3}}, 13, 1e-5,
           1e-3);
  // Direct convs (rows of 16 with padding 1: no column matrix).
  ir::Attrs pad1 = attrs({{"padding", int64_t(1)}});
  checkMap(OpKind::Conv2d, {{N, 8, 16, 16}, {8, 8, 3, 3}, {8}}, 13, 1e-5, 1e-4, pad1);
  checkMap(OpKind::Conv2dGradInput, {{N, 8, 16, 16}, {8, 8, 3, 3}, {N, 8, 16, 16}}, 13, 1e-5,
           1e-4, pad1);
  checkMap(OpKind::Conv2dGradWeight, {{N, 8, 16, 16}, {N, 8, 16, 16}, {8, 8, 3, 3}}, 13, 1e-5,
           2e-3, pad1);
  // Batch norm, values in [0.5, 2) (the statistics' variances too).
  checkMap(OpKind::BatchStats, {{N, 16, 8, 8}}, 13, 1e-5, 1e-6, {}, 0.5f, 2);
  checkMap(OpKind::BatchNormGradGamma, {{N, 16, 8, 8}, {N, 16, 8, 8}, {4, 16}}, 13, 1e-5, 1e-5, {},
           0.5f, 2);
  checkMap(OpKind::BatchNormTrain, {{N, 16, 8, 8}, {16}, {16}, {4, 16}}, 13, 1e-5, 1e-5, {}, 0.5f,
           2);
  checkMap(OpKind::BatchNormTrainGrad,
           {{N, 16, 8, 8}, {16}, {N, 16, 8, 8}, {4, 16}, {16}, {16}}, 13, 1e-5, 1e-5, {}, 0.5f, 2);
}
