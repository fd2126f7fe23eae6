//===- tests/unit/RuntimeTest.cpp - RNG, initializers, sessions, param files ===//
//
// Initializers are checked statistically on real layer shapes (tolerances are
// several standard errors wide, so the fixed seeds are not lucky picks).
// Sessions run a tiny hand-written Executable (y = x @ W per sample) so that
// buffer binding is tested without a compiler.
//
//===----------------------------------------------------------------------===//
#include "runtime/Hyper.h"
#include "runtime/Initializers.h"
#include "runtime/Npy.h"
#include "runtime/ParamIO.h"
#include "runtime/Rng.h"
#include "runtime/Session.h"
#include "runtime/Trainer.h"
#include "tests/TestUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>

using namespace gradc;
using namespace gradc::rt;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {

struct Stats {
  double mean = 0, std = 0, min = 1e300, max = -1e300;
};

Stats statsOf(const Tensor &t) {
  Stats s;
  double sum = 0, sq = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    double v = t.f32()[i];
    sum += v;
    sq += v * v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  s.mean = sum / t.numel();
  s.std = std::sqrt(sq / t.numel() - s.mean * s.mean);
  return s;
}

Tensor filled(Shape shape, InitSpec spec, uint64_t seed = 1, uint64_t stream = 0) {
  Tensor t(DType::F32, std::move(shape));
  Rng rng(seed, stream);
  expectOk(initializeTensor(t, spec, rng, "t"));
  return t;
}

InitSpec kind(const std::string &k) {
  InitSpec s;
  s.kind = k;
  return s;
}

TEST(Rng, NormalIsStandardAndDeterministic) {
  Rng a(7, 3), b(7, 3), c(7, 4);
  const int n = 200000;
  double sum = 0, sq = 0;
  bool differs = false;
  for (int i = 0; i < n; ++i) {
    double x = a.normal();
    ASSERT_TRUE(std::isfinite(x));
    EXPECT_EQ(x, b.normal());
    differs |= x != c.normal();
    sum += x;
    sq += x * x;
  }
  EXPECT_TRUE(differs) << "another stream gives other numbers";
  EXPECT_NEAR(sum / n, 0.0, 0.01); // standard error 0.0022
  EXPECT_NEAR(sq / n, 1.0, 0.015); // standard error 0.0032
  EXPECT_EQ(a.counter(), uint64_t(2 * n)) << "two uniforms per normal";
}

TEST(Initializers, KnownKinds) {
  for (const char *k : {"zeros", "constant", "normal", "uniform", "kaiming_normal",
                        "kaiming_uniform", "xavier_uniform"})
    EXPECT_TRUE(isKnownInitializer(k)) << k;
  EXPECT_FALSE(isKnownInitializer("kaiming"));
  EXPECT_FALSE(isKnownInitializer(""));
}

TEST(Initializers, KaimingNormalHasStdSqrt2OverFanIn) {
  Stats s = statsOf(filled({784, 256}, kind("kaiming_normal")));
  double want = std::sqrt(2.0 / 784);
  EXPECT_NEAR(s.std / want, 1.0, 0.02);
  EXPECT_NEAR(s.mean, 0.0, want * 0.01);

  // Conv weights [out, in, kh, kw]: fan_in = in * kh * kw; explicit gain.
  InitSpec g1 = kind("kaiming_normal");
  g1.gain = 1;
  Stats c = statsOf(filled({64, 16, 3, 3}, g1));
  EXPECT_NEAR(c.std / std::sqrt(1.0 / (16 * 9)), 1.0, 0.03);
}

TEST(Initializers, UniformKindsStayInTheirBounds) {
  auto checkBound = [](const Tensor &t, double bound) {
    Stats s = statsOf(t);
    EXPECT_GE(s.min, -bound);
    EXPECT_LE(s.max, bound);
    EXPECT_GT(s.max, 0.99 * bound) << "the range is used";
    EXPECT_LT(s.min, -0.99 * bound);
    EXPECT_NEAR(s.std / (bound / std::sqrt(3.0)), 1.0, 0.02);
  };
  checkBound(filled({784, 256}, kind("kaiming_uniform")), std::sqrt(2.0) * std::sqrt(3.0 / 784));
  checkBound(filled({256, 10}, kind("xavier_uniform")), std::sqrt(6.0 / 266));
  InitSpec gained = kind("xavier_uniform");
  gained.gain = 2;
  checkBound(filled({256, 10}, gained), 2 * std::sqrt(6.0 / 266));

  InitSpec u = kind("uniform");
  u.low = -3;
  u.high = 5;
  Stats s = statsOf(filled({100000}, u));
  EXPECT_GE(s.min, -3.0);
  EXPECT_LE(s.max, 5.0);
  EXPECT_NEAR(s.mean, 1.0, 0.05);
}

TEST(Initializers, NormalConstantZeros) {
  InitSpec n = kind("normal");
  n.mean = 2;
  n.std = 0.5;
  Stats s = statsOf(filled({100000}, n));
  EXPECT_NEAR(s.mean, 2.0, 0.01);
  EXPECT_NEAR(s.std, 0.5, 0.01);

  InitSpec c = kind("constant");
  c.value = -1.5;
  Stats k = statsOf(filled({7, 3}, c));
  EXPECT_EQ(k.min, -1.5);
  EXPECT_EQ(k.max, -1.5);
  Stats z = statsOf(filled({5}, kind("zeros")));
  EXPECT_EQ(z.min, 0.0);
  EXPECT_EQ(z.max, 0.0);
}

TEST(Initializers, DeterministicBySeedAndStream) {
  Tensor a = filled({64, 32}, kind("kaiming_normal"), 5, 2);
  Tensor b = filled({64, 32}, kind("kaiming_normal"), 5, 2);
  Tensor c = filled({64, 32}, kind("kaiming_normal"), 6, 2);
  Tensor d = filled({64, 32}, kind("kaiming_normal"), 5, 3);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.bytes()), 0);
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.bytes()), 0);
  EXPECT_NE(std::memcmp(a.data(), d.data(), a.bytes()), 0);
}

TEST(Initializers, Errors) {
  Tensor t(DType::F32, {4});
  Rng rng(0, 0);
  EXPECT_EQ(errorText(initializeTensor(t, kind("kaiming"), rng, "param 'W'")),
            "param 'W': unknown initializer 'kaiming'");
  InitSpec n = kind("normal");
  n.std = -1;
  EXPECT_EQ(errorText(initializeTensor(t, n, rng, "param 'W'")),
            "param 'W': normal std must be >= 0, got -1");
  InitSpec u = kind("uniform");
  u.low = 1;
  EXPECT_EQ(errorText(initializeTensor(t, u, rng, "param 'W'")),
            "param 'W': uniform low 1 is greater than high 0");
  InitSpec big = kind("constant");
  big.value = 1e300;
  EXPECT_EQ(errorText(initializeTensor(t, big, rng, "param 'W'")),
            "param 'W': initializer constant parameters are out of f32 range");
  Tensor i(DType::I32, {3});
  EXPECT_EQ(errorText(initializeTensor(i, kind("normal"), rng, "param 'I'")),
            "param 'I': initializer normal cannot fill an i32 param");
  InitSpec seven = kind("constant");
  seven.value = 7;
  expectOk(initializeTensor(i, seven, rng, "param 'I'"));
  EXPECT_EQ(i.i32()[2], 7);
}

/// y[b] = x[b] @ W for x [N,3], W [3,2]; counts its runs.
class TinyExe : public Executable {
public:
  TinyExe() {
    bufs_.push_back({"x", BufferRole::Input, DType::F32, {kBatch, 3}, "", {}, true});
    BufferDesc w{"W", BufferRole::Param, DType::F32, {3, 2}, "", {}, true};
    w.init.kind = "kaiming_uniform";
    bufs_.push_back(w);
    bufs_.push_back({"y", BufferRole::Output, DType::F32, {kBatch, 2}, "", {}, true});
    BufferDesc b{"b", BufferRole::Param, DType::F32, {2}, "", {}, true};
    b.init.kind = "constant";
    b.init.value = 0.5;
    bufs_.push_back(b);
  }
  const std::vector<BufferDesc> &buffers() const override { return bufs_; }
  llvm::Error run(void *const *bufs, int64_t batch) override {
    ++runs;
    lastBatch = batch;
    auto *x = static_cast<const float *>(bufs[0]);
    auto *w = static_cast<const float *>(bufs[1]);
    auto *y = static_cast<float *>(bufs[2]);
    auto *b = static_cast<const float *>(bufs[3]);
    for (int64_t r = 0; r < batch; ++r)
      for (int c = 0; c < 2; ++c) {
        float acc = b[c];
        for (int k = 0; k < 3; ++k)
          acc += x[r * 3 + k] * w[k * 2 + c];
        y[r * 2 + c] = acc;
      }
    return llvm::Error::success();
  }
  std::vector<BufferDesc> bufs_;
  int runs = 0;
  int64_t lastBatch = 0;
};

TEST(ParamStore, InitializesEachParamFromItsOwnStream) {
  TinyExe exe;
  ParamStore store;
  expectOk(store.initialize(exe.buffers(), 42));
  ASSERT_EQ(store.all().size(), 2u);
  const Tensor *w = store.find("W");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->shape(), (Shape{3, 2}));
  // W is the first param: stream 0 of seed 42.
  Tensor want = filled({3, 2}, exe.bufs_[1].init, 42, 0);
  EXPECT_EQ(std::memcmp(w->data(), want.data(), want.bytes()), 0);
  EXPECT_EQ(store.find("b")->f32()[1], 0.5f);

  // Params already in the store are kept; a changed seed does not touch them.
  float before = w->f32()[0];
  expectOk(store.initialize(exe.buffers(), 43));
  EXPECT_EQ(store.find("W")->f32()[0], before);

  TinyExe bad;
  bad.bufs_[1].shape = {kBatch, 2};
  ParamStore s2;
  EXPECT_EQ(errorText(s2.initialize(bad.buffers(), 0)),
            "param 'W': shape [N,2] has the batch dimension N; params have fixed shapes");
  bad.bufs_[1].shape = {3, 2};
  bad.bufs_[1].init.kind = "bogus";
  EXPECT_EQ(errorText(s2.initialize(bad.buffers(), 0)), "param 'W': unknown initializer 'bogus'");
}

TEST(Session, BindsBuffersAndRuns) {
  TinyExe exe;
  ParamStore store;
  expectOk(store.initialize(exe.buffers(), 1));
  Session s(exe, store);
  EXPECT_EQ(errorText(s.run()), "cannot run a step before setBatch has succeeded");
  EXPECT_EQ(errorText(s.setBatch(0)), "batch size must be at least 1, got 0");

  expectOk(s.setBatch(4));
  EXPECT_EQ(s.batch(), 4);
  Tensor *x = s.find("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->shape(), (Shape{4, 3}));
  EXPECT_EQ(s.findRole(BufferRole::Output), s.find("y"));
  EXPECT_EQ(s.find("W"), store.find("W")) << "params live in the store";
  EXPECT_EQ(&s.buffer(1), store.find("W"));
  EXPECT_EQ(&s.buffer(0), x);
  EXPECT_EQ(s.find("nope"), nullptr);
  EXPECT_EQ(s.findRole(BufferRole::Loss), nullptr);

  for (int i = 0; i < 12; ++i)
    x->f32()[i] = float(i);
  expectOk(s.run());
  EXPECT_EQ(exe.lastBatch, 4);
  const float *w = store.find("W")->f32();
  EXPECT_FLOAT_EQ(s.find("y")->f32()[7], 0.5f + 9 * w[1] + 10 * w[3] + 11 * w[5]);

  // A param replaced in the store after setBatch is what the next step sees.
  Tensor ones(DType::F32, {3, 2});
  for (int i = 0; i < 6; ++i)
    ones.f32()[i] = 1;
  store.set("W", std::move(ones));
  expectOk(s.run());
  EXPECT_FLOAT_EQ(s.find("y")->f32()[0], 0.5f + 0 + 1 + 2);

  // Same batch again keeps the buffers and their contents.
  expectOk(s.setBatch(4));
  EXPECT_EQ(s.find("x")->f32()[11], 11.0f);
  expectOk(s.setBatch(2));
  EXPECT_EQ(s.find("y")->shape(), (Shape{2, 2}));
  expectOk(s.run());
  EXPECT_EQ(exe.lastBatch, 2);
  EXPECT_EQ(exe.runs, 3);
}

TEST(Session, ParamsMustMatchTheExecutable) {
  TinyExe exe;
  ParamStore store;
  Session s(exe, store);
  EXPECT_EQ(errorText(s.setBatch(2)),
            "param 'W' has no value (initialize or load the params first)");
  EXPECT_EQ(errorText(s.run()), "cannot run a step before setBatch has succeeded");
  store.set("W", Tensor(DType::F32, {2, 3}));
  store.set("b", Tensor(DType::F32, {2}));
  EXPECT_EQ(errorText(s.setBatch(2)),
            "param 'W' holds f32[2,3] but the executable declares f32[3,2]");
  store.set("W", Tensor(DType::I32, {3, 2}));
  EXPECT_EQ(errorText(s.setBatch(2)),
            "param 'W' holds i32[3,2] but the executable declares f32[3,2]");
  store.set("W", Tensor(DType::F32, {3, 2}));
  expectOk(s.setBatch(2));
  // Broken after setBatch: run() checks again instead of using a stale pointer.
  store.set("b", Tensor(DType::F32, {3}));
  EXPECT_EQ(errorText(s.run()), "param 'b' holds f32[3] but the executable declares f32[2]");
  EXPECT_EQ(exe.runs, 0);

  // Huge batches are refused before allocating.
  store.set("b", Tensor(DType::F32, {2}));
  std::string err = errorText(s.setBatch(int64_t(1) << 40));
  EXPECT_NE(err.find("is too large"), std::string::npos) << err;
}

class ParamIOTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("gradc-params", dir_));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir_); }
  std::string path(const std::string &rel) {
    llvm::SmallString<256> p(dir_);
    llvm::sys::path::append(p, rel);
    return std::string(p);
  }
  llvm::SmallString<256> dir_;
};

TEST_F(ParamIOTest, SaveAndLoadRoundTrip) {
  TinyExe exe;
  ParamStore store;
  expectOk(store.initialize(exe.buffers(), 9));
  std::string dir = path("nested/params");
  expectOk(saveParams(dir, store));
  EXPECT_TRUE(llvm::sys::fs::exists(dir + "/W.npy"));
  EXPECT_TRUE(llvm::sys::fs::exists(dir + "/b.npy"));

  ParamStore loaded;
  expectOk(loadParams(dir, exe.buffers(), loaded));
  for (const char *name : {"W", "b"}) {
    const Tensor *a = store.find(name), *b = loaded.find(name);
    ASSERT_NE(b, nullptr) << name;
    EXPECT_EQ(a->shape(), b->shape());
    EXPECT_EQ(std::memcmp(a->data(), b->data(), a->bytes()), 0) << name;
  }
  Session s(exe, loaded);
  expectOk(s.setBatch(1));
}

TEST_F(ParamIOTest, LoadErrors) {
  TinyExe exe;
  std::string dir = path("p");
  ParamStore store;
  EXPECT_EQ(errorText(loadParams(dir, exe.buffers(), store)),
            "param directory " + dir + " does not exist");
  ASSERT_FALSE(llvm::sys::fs::create_directories(dir));
  EXPECT_EQ(errorText(loadParams(dir, exe.buffers(), store)),
            "missing param file " + dir + "/W.npy");

  expectOk(writeNpy(dir + "/W.npy", Tensor(DType::F32, {3, 3})));
  expectOk(writeNpy(dir + "/b.npy", Tensor(DType::F32, {2})));
  EXPECT_EQ(errorText(loadParams(dir, exe.buffers(), store)),
            dir + "/W.npy: shape [3,3] does not match param W f32[3,2]");
  expectOk(writeNpy(dir + "/W.npy", Tensor(DType::I32, {3, 2})));
  EXPECT_EQ(errorText(loadParams(dir, exe.buffers(), store)),
            dir + "/W.npy: dtype i32 does not match param W f32[3,2]");
  EXPECT_TRUE(store.all().empty()) << "a failed load changes nothing";

  // A missing second file also leaves the store untouched.
  expectOk(writeNpy(dir + "/W.npy", Tensor(DType::F32, {3, 2})));
  llvm::sys::fs::remove(dir + "/b.npy");
  EXPECT_EQ(errorText(loadParams(dir, exe.buffers(), store)),
            "missing param file " + dir + "/b.npy");
  EXPECT_TRUE(store.all().empty());

  TinyExe evil;
  evil.bufs_[1].name = "../W";
  EXPECT_EQ(errorText(loadParams(dir, evil.buffers(), store)),
            "param name '../W' cannot be used as a file name");
  ParamStore named;
  named.set("a/b", Tensor(DType::F32, {1}));
  EXPECT_EQ(errorText(saveParams(dir, named)), "param name 'a/b' cannot be used as a file name");
}

TEST_F(ParamIOTest, OptimizerStateIsNotSavedOrLoaded) {
  TinyExe exe;
  BufferDesc m{"W.m", BufferRole::OptState, DType::F32, {3, 2}, "", {}, false};
  exe.bufs_.push_back(m);
  ParamStore store;
  expectOk(store.initialize(exe.buffers(), 9));
  // Created and zero-filled like a param, bound like one.
  const Tensor *state = store.find("W.m");
  ASSERT_NE(state, nullptr);
  for (int64_t i = 0; i < state->numel(); ++i)
    EXPECT_EQ(state->f32()[i], 0.0f);
  EXPECT_TRUE(store.isOptimizerState("W.m"));
  EXPECT_FALSE(store.isOptimizerState("W"));
  Session s(exe, store);
  expectOk(s.setBatch(1));
  EXPECT_EQ(s.find("W.m"), state);

  std::string dir = path("params");
  expectOk(saveParams(dir, store));
  EXPECT_TRUE(llvm::sys::fs::exists(dir + "/W.npy"));
  EXPECT_FALSE(llvm::sys::fs::exists(dir + "/W.m.npy")) << "params on disk are the model's";
  ParamStore loaded;
  expectOk(loadParams(dir, exe.buffers(), loaded)); // no W.m.npy needed
  EXPECT_EQ(loaded.find("W.m"), nullptr);
  // A loaded model gets fresh optimizer state, params untouched.
  float w0 = loaded.find("W")->f32()[0];
  expectOk(loaded.initialize(exe.buffers(), 1));
  EXPECT_NE(loaded.find("W.m"), nullptr);
  EXPECT_EQ(loaded.find("W")->f32()[0], w0);
}

TEST(Hyper, ValuesMatchTorchFormulas) {
  OptimizerSettings o{0.9, 0.999, 0.01};
  EXPECT_EQ(hyperValue(HyperKind::LearningRate, o, 0.5, 3), 0.5);
  EXPECT_DOUBLE_EQ(hyperValue(HyperKind::AdamStepSize, o, 1e-3, 1), 1e-3 / 0.1);
  EXPECT_DOUBLE_EQ(hyperValue(HyperKind::AdamStepSize, o, 1e-3, 2), 1e-3 / (1 - 0.81));
  EXPECT_DOUBLE_EQ(hyperValue(HyperKind::AdamBiasCorrection2Sqrt, o, 1e-3, 1),
                   std::sqrt(1 - 0.999));
  EXPECT_DOUBLE_EQ(hyperValue(HyperKind::AdamBiasCorrection2Sqrt, o, 1e-3, 3),
                   std::sqrt(1 - 0.999 * 0.999 * 0.999));
  EXPECT_DOUBLE_EQ(hyperValue(HyperKind::AdamWDecay, o, 0.1, 7), 1 - 0.1 * 0.01);
}

/// A fake training step: features x [N,2], labels y, Adam's hyper inputs and
/// a loss. Each run records the hyper values it was fed.
class HyperRecorder : public Executable {
public:
  HyperRecorder() {
    bufs_.push_back({"x", BufferRole::Input, DType::F32, {kBatch, 2}, "", {}, true});
    bufs_.push_back({"y", BufferRole::Input, DType::I32, {kBatch}, "", {}, true});
    for (HyperKind k : {HyperKind::AdamStepSize, HyperKind::AdamBiasCorrection2Sqrt}) {
      BufferDesc h{hyperKindName(k), BufferRole::HyperInput, DType::F32, {}, "", {}, true};
      h.hyper = k;
      h.optimizer = OptimizerSettings{0.8, 0.9, 0};
      bufs_.push_back(h);
    }
    bufs_.push_back({"loss", BufferRole::Loss, DType::F32, {}, "", {}, true});
  }
  const std::vector<BufferDesc> &buffers() const override { return bufs_; }
  llvm::Error run(void *const *bufs, int64_t) override {
    stepSizes.push_back(*static_cast<const float *>(bufs[2]));
    bc2.push_back(*static_cast<const float *>(bufs[3]));
    *static_cast<float *>(bufs[4]) = 0;
    return llvm::Error::success();
  }
  std::vector<BufferDesc> bufs_;
  std::vector<float> stepSizes, bc2;
};

TEST(Trainer, FeedsAdamHyperInputsByStepAcrossEpochs) {
  HyperRecorder step, eval;
  ParamStore store;
  TrainerConfig cfg;
  cfg.batch = 2;
  cfg.lr = 0.01;
  cfg.features = "x";
  cfg.labels = "y";
  Trainer trainer(step, eval, store, cfg);
  Dataset set;
  set.features = Tensor(DType::F32, {5, 2});
  set.labels = Tensor(DType::I32, {5});
  set.source = "tiny";
  // 5 samples, batch 2: two steps per epoch (the partial batch is dropped).
  for (int64_t epoch = 0; epoch < 2; ++epoch) {
    auto st = trainer.trainEpoch(set, epoch);
    ASSERT_TRUE(static_cast<bool>(st)) << llvm::toString(st.takeError());
    EXPECT_EQ(st->steps, 2);
  }
  EXPECT_EQ(trainer.steps(), 4);
  ASSERT_EQ(step.stepSizes.size(), 4u);
  for (int t = 1; t <= 4; ++t) {
    EXPECT_EQ(step.stepSizes[t - 1], static_cast<float>(0.01 / (1 - std::pow(0.8, t)))) << t;
    EXPECT_EQ(step.bc2[t - 1], static_cast<float>(std::sqrt(1 - std::pow(0.9, t)))) << t;
  }
}

} // namespace

namespace {

TEST(Trainer, RunEpochStopsAndContinuesWithTheScheduledRates) {
  auto makeSet = [] {
    Dataset set;
    set.features = Tensor(DType::F32, {9, 2});
    set.labels = Tensor(DType::I32, {9});
    std::memset(set.features.data(), 0, set.features.bytes());
    std::memset(set.labels.data(), 0, set.labels.bytes());
    set.source = "tiny";
    return set;
  };
  Dataset set = makeSet();
  TrainerConfig cfg;
  cfg.batch = 2; // 4 steps an epoch
  cfg.lr = 0.1;
  cfg.schedule.kind = Schedule::Kind::Cosine;
  cfg.schedule.warmup = 2;
  cfg.totalSteps = 8;
  cfg.features = "x";
  cfg.labels = "y";

  // Two whole epochs.
  HyperRecorder whole, eval;
  ParamStore s1;
  Trainer t1(whole, eval, s1, cfg);
  TrainPosition pos;
  for (pos.epoch = 0; pos.epoch < 2; ++pos.epoch, pos.batch = 0)
    ASSERT_TRUE(expectOk(t1.runEpoch(set, pos)));
  ASSERT_EQ(whole.stepSizes.size(), 8u);
  for (int t = 0; t < 8; ++t)
    EXPECT_EQ(whole.stepSizes[t],
              static_cast<float>(scheduledLr(cfg.schedule, 0.1, t, 4, 8) /
                                 (1 - std::pow(0.8, t + 1))))
        << t;

  // Stopped after 3 steps, continued by a fresh trainer from the position.
  HyperRecorder first, second;
  ParamStore s2;
  Trainer t2(first, eval, s2, cfg);
  TrainPosition p2;
  bool full = expectOk(t2.runEpoch(set, p2, [](const TrainPosition &p) -> llvm::Expected<bool> {
    return p.step == 3;
  }));
  EXPECT_FALSE(full);
  EXPECT_EQ(p2.step, 3);
  EXPECT_EQ(p2.batch, 3);
  EXPECT_EQ(p2.samples, 6);
  Trainer t3(second, eval, s2, cfg);
  ASSERT_TRUE(expectOk(t3.runEpoch(set, p2)));
  EXPECT_EQ(p2.step, 4);
  p2.epoch = 1;
  p2.batch = 0;
  ASSERT_TRUE(expectOk(t3.runEpoch(set, p2)));
  std::vector<float> joined = first.stepSizes;
  joined.insert(joined.end(), second.stepSizes.begin(), second.stepSizes.end());
  EXPECT_EQ(joined, whole.stepSizes);
}

} // namespace
