//===- tools/gradc/BenchCommand.cpp - gradc bench -------------------------===//
//
// Compiles a model's training step (or, with --infer, its forward pass), binds
// seeded synthetic inputs (features uniform in [0,1), labels uniform over the
// classes), runs warm-up steps and then times every step on its own. Reports
// the compile time (split into graph passes and the codegen phases of
// codegen::CompileTimes), the median, min and max step time, samples/s, the FLOPs
// of one step (ir/Cost.h) and the GFLOP/s that median achieves, and the bytes
// of the step's buffers: planned (memory slots in one arena, plan-memory) and
// naive (one buffer per value).
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "ir/Cost.h"
#include "runtime/Hyper.h"
#include "runtime/Rng.h"
#include "runtime/Session.h"
#include "runtime/ThreadPool.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>

namespace gradc::driver {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// Fills every Input buffer of `s`: f32 uniform in [0,1), i32 labels uniform
/// in [0, classes) (zeros for integer inputs no loss reads as labels).
void fillInputs(rt::Session &s, const ir::Graph &g, uint64_t seed) {
  for (size_t i = 0; i < s.buffers().size(); ++i) {
    const rt::BufferDesc &b = s.buffers()[i];
    if (b.role != rt::BufferRole::Input)
      continue;
    rt::Rng rng(seed, i);
    rt::Tensor &t = s.buffer(i);
    if (t.dtype() == DType::F32) {
      for (int64_t k = 0; k < t.numel(); ++k)
        t.f32()[k] = static_cast<float>(rng.uniform());
    } else {
      int64_t classes = labelClasses(g, b.name);
      for (int64_t k = 0; k < t.numel(); ++k)
        t.i32()[k] = classes > 0 ? static_cast<int32_t>(rng.below(classes)) : 0;
    }
  }
}

/// Bytes of the step's memory at `batch`. `naive`: one buffer for every value
/// of the graph (inputs, params, node results). `planned`: what the session
/// holds: buffers of their own, plus the arena of the memory slots (updates
/// computed in place take no memory beyond their params).
struct Memory {
  double params = 0, optState = 0; // persistent buffers
  double naive = 0, planned = 0;
  double slotted = 0, arena = 0;   // slot members one buffer each; their arena
};

Memory memoryBytes(const ir::Graph &g, const rt::Session &s, int64_t batch) {
  auto bytes = [&](DType dt, const Shape &shape) {
    return static_cast<double>(numelFor(shape, batch).value_or(0)) * sizeOf(dt);
  };
  Memory m;
  for (const ir::Value *v : g.inputs())
    m.naive += bytes(v->type().dtype, v->type().shape);
  for (const ir::Value *v : g.params())
    m.naive += bytes(v->type().dtype, v->type().shape);
  for (const auto &n : g.nodes())
    for (const ir::Value *v : n->results())
      m.naive += bytes(v->type().dtype, v->type().shape);
  for (const rt::BufferDesc &b : s.buffers()) {
    double n = bytes(b.dtype, b.shape);
    if (b.role == rt::BufferRole::Param)
      m.params += n;
    else if (b.role == rt::BufferRole::OptState)
      m.optState += n;
    if (b.slot >= 0)
      m.slotted += n;
    else
      m.planned += n;
  }
  m.arena = static_cast<double>(s.arenaBytes());
  m.planned += m.arena;
  return m;
}

std::string mib(double bytes) { return llvm::formatv("{0:F2} MiB", bytes / (1 << 20)).str(); }

} // namespace

llvm::Error runBench(const BenchOptions &o) {
  if (o.steps < 1)
    return error(llvm::formatv("--steps must be at least 1, got {0}", o.steps));
  if (o.warmup < 0)
    return error(llvm::formatv("--warmup must not be negative, got {0}", o.warmup));
  if (o.batch && *o.batch < 1)
    return error(llvm::formatv("--batch must be at least 1, got {0}", *o.batch));

  auto t0 = Clock::now();
  auto g = buildGraph(o.model, o.infer ? Mode::Infer : Mode::Train);
  if (!g)
    return g.takeError();
  double passSeconds = secondsSince(t0);
  codegen::CompileTimes times;
  auto exe = compile(**g, nullptr, &times);
  if (!exe)
    return exe.takeError();
  double compileSeconds = secondsSince(t0);

  const ir::TrainingConfig &cfg = (*g)->training;
  int64_t batch = o.batch.value_or(cfg.batchSize);
  rt::ParamStore params;
  if (auto e = params.initialize((*exe)->buffers(), cfg.seed))
    return e;
  rt::Session s(**exe, params);
  if (auto e = s.setBatch(batch))
    return e;
  fillInputs(s, **g, cfg.seed);

  std::vector<double> ms;
  ms.reserve(o.steps);
  for (int64_t step = 1; step <= o.warmup + o.steps; ++step) {
    if (auto e = rt::feedHyperInputs(s, cfg.lr, step))
      return e;
    auto t = Clock::now();
    if (auto e = s.run())
      return e;
    if (step > o.warmup)
      ms.push_back(secondsSince(t) * 1e3);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  size_t n = sorted.size();
  double median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  double flops = ir::graphFlops(**g, batch);
  Memory mem = memoryBytes(**g, s, batch);
  const char *what = o.infer ? "inference" : "training step";

  llvm::raw_ostream &os = llvm::outs();
  if (o.json) {
    os << llvm::formatv(
        "{{\"model\": \"{0}\", \"mode\": \"{1}\", \"batch\": {2}, \"threads\": {3}, "
        "\"compile_s\": {4:F4}, \"median_ms\": {5:F5}, \"min_ms\": {6:F5}, \"max_ms\": {7:F5}, "
        "\"steps\": {8}, \"warmup\": {9}, \"flops_per_step\": {10:F0}, \"gflops\": {11:F3}, "
        "\"param_bytes\": {12:F0}, \"opt_state_bytes\": {13:F0}, \"naive_bytes\": {14:F0}, "
        "\"planned_bytes\": {15:F0}, \"slotted_bytes\": {16:F0}, \"arena_bytes\": {17:F0}, "
        "\"compile_passes_s\": {18:F4}, \"compile_ir_s\": {19:F4}, "
        "\"compile_optimize_s\": {20:F4}, \"compile_machine_code_s\": {21:F4}, "
        "\"compile_threads\": {22}}\n",
        o.model, o.infer ? "infer" : "train", batch, rt::numThreads(), compileSeconds, median,
        sorted.front(), sorted.back(), o.steps, o.warmup, flops, flops / median / 1e6,
        mem.params, mem.optState, mem.naive, mem.planned, mem.slotted, mem.arena, passSeconds,
        times.buildIR, times.optimize, times.machineCode, times.objects);
    return llvm::Error::success();
  }
  os << llvm::formatv("gradc bench: {0} ({1}, batch {2}, {3} thread(s))\n", o.model, what,
                      batch, rt::numThreads());
  os << llvm::formatv("  compile     {0:F3} s  (graph passes {1:F3}, LLVM IR {2:F3}, LLVM "
                      "optimization {3:F3}, machine code {4:F3} on {5} thread(s))\n",
                      compileSeconds, passSeconds, times.buildIR, times.optimize,
                      times.machineCode, times.objects);
  os << llvm::formatv("  step        median {0:F3} ms  (min {1:F3}, max {2:F3}; {3} steps "
                      "after {4} warm-up)\n",
                      median, sorted.front(), sorted.back(), o.steps, o.warmup);
  os << llvm::formatv("  throughput  {0:F0} samples/s\n", batch / median * 1e3);
  os << llvm::formatv("  compute     {0:F4} GFLOP per step, {1:F2} GFLOP/s\n", flops / 1e9,
                      flops / median / 1e6);
  os << llvm::formatv("  memory      planned {0}, {1:F0}% of {2} with one buffer per value "
                      "(params {3}, optimizer state {4})\n",
                      mib(mem.planned), 100 * mem.planned / std::max(1.0, mem.naive),
                      mib(mem.naive), mib(mem.params), mib(mem.optState));
  os << llvm::formatv("  arena       {0} holds intermediates that take {1} one buffer each "
                      "({2:F0}%)\n",
                      mib(mem.arena), mib(mem.slotted),
                      100 * mem.arena / std::max(1.0, mem.slotted));
  return llvm::Error::success();
}

} // namespace gradc::driver
