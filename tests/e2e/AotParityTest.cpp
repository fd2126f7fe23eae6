//===- tests/e2e/AotParityTest.cpp - gradc compile objects vs the JIT -----===//
//
// For each example model and target CPU: `gradc compile` writes an object
// and header, `cc -std=c99 -Wall -Wextra -pedantic -Werror` links
// tests/aot/aot_driver.c against it with only -lm, and the driver (plain C,
// no gradc runtime) initializes the params from a seed, runs inference and
// training steps on inputs this test wrote, and dumps the raw buffers.
// The test then does the same through the JIT (rt::ParamStore, rt::Session,
// rt::feedHyperInputs) and compares, per param:
//   - initial params: bitwise (the object's RNG port vs runtime/Rng),
//   - inference outputs, the loss, the updated params and optimizer state
//     (after 1 step, or 3 for Adam, whose hyper inputs change per step; the
//     object computes them from lr and the step): bitwise when the
//     JIT compiles for the same CPU as the object (same module, same
//     passes), and within 1e-5 relative of the host JIT for an x86-64
//     (SSE2-only) object, whose kernels use other vector widths and so sum
//     in another order.
// One case compiles with --threads 3 (loops split over pthreads): still
// bitwise. The header also compiles warning-free as C++17. `nm -u` of each
// object lists nothing outside libc and libm (and pthread with --threads).
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/AotLayout.h"
#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"
#include "runtime/Hyper.h"
#include "runtime/Session.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <cmath>
#include <cstdio>
#include <cstring>

using namespace gradc;

namespace {

struct Case {
  const char *name;                     // test name
  const char *model;                    // in the source tree
  const char *cpu;                      // --target-cpu
  const char *in, *out, *lab, *labType; // driver macros (upper-case array names)
  double lr;
  int steps;
  unsigned threads = 1; // --threads
};

const Case kCases[] = {
    {"mlp_mnist_native", "examples/mlp_mnist.pbtxt", "native", "X", "LOGITS", "Y", "int32_t", 0.1,
     1},
    {"mlp_mnist_x86_64", "examples/mlp_mnist.pbtxt", "x86-64", "X", "LOGITS", "Y", "int32_t", 0.1,
     1},
    // Parallel loops split over 3 pthreads (the matmuls split their rows).
    {"mlp_mnist_threads", "examples/mlp_mnist.pbtxt", "native", "X", "LOGITS", "Y", "int32_t", 0.1,
     2, 3},
    {"xor_x86_64_v3", "examples/xor.pbtxt", "x86-64-v3", "X", "P", "T", "float", 2.0, 1},
    // Adam: optimizer state, and hyper inputs that change with the step.
    {"xor_adam_native", "tests/aot/xor_adam.pbtxt", "native", "X", "P", "T", "float", 0.05, 3},
    // Dropout: the mask of each step comes from the step number.
    {"xor_dropout_native", "tests/aot/xor_dropout.pbtxt", "native", "X", "P", "T", "float", 0.5,
     3},
};

constexpr int64_t kBatch = 7; // not a multiple of any vector width
constexpr uint64_t kSeed = 5;

std::string join(llvm::StringRef dir, llvm::StringRef name) {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, name);
  return std::string(p);
}

/// Exact text of a double.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// Runs argv, output to `log`; returns the exit code and fills `text`.
int run(std::vector<std::string> args, const std::string &log, std::string &text) {
  std::vector<llvm::StringRef> argv(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(log),
                                                llvm::StringRef(log)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(args[0], argv, std::nullopt, redirects, 0, 0, &err);
  auto out = llvm::MemoryBuffer::getFile(log);
  text = err + (out ? (*out)->getBuffer().str() : std::string());
  return rc;
}

std::string readFile(const std::string &path) {
  auto b = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(!!b) << "cannot read " << path;
  return b ? (*b)->getBuffer().str() : std::string();
}

std::unique_ptr<ir::Graph> graph(const std::string &model, bool train) {
  auto g = test::expectOk(frontend::loadModelFile(test::sourcePath(model)));
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  test::expectOk(pm.setPipeline(passes::defaultPipeline(train)));
  passes::PassContext ctx;
  ctx.training = train;
  test::expectOk(pm.run(*g, ctx));
  return g;
}

/// Compares `n` floats; exact: bitwise, else |a - b| <= tol * max(1, max|b|).
void compare(const char *what, const float *aot, const float *jit, int64_t n, bool exact) {
  double scale = 1, worst = 0;
  for (int64_t i = 0; i < n; ++i)
    scale = std::max(scale, std::fabs(double(jit[i])));
  for (int64_t i = 0; i < n; ++i)
    worst = std::max(worst, std::fabs(double(aot[i]) - double(jit[i])) / scale);
  if (exact)
    EXPECT_EQ(std::memcmp(aot, jit, n * sizeof(float)), 0)
        << what << ": not bitwise equal (max relative difference " << worst << ")";
  else
    EXPECT_LE(worst, 1e-5) << what;
}

class AotParity : public ::testing::TestWithParam<Case> {};

TEST_P(AotParity, ObjectMatchesJit) {
  const Case &c = GetParam();
  if (std::string(c.cpu) == "x86-64-v3") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    if (!features.lookup("avx2") || !features.lookup("fma"))
      GTEST_SKIP() << "this CPU cannot run x86-64-v3 code";
  }
  std::string model = c.model;
  auto cc = llvm::sys::findProgramByName("cc");
  ASSERT_TRUE(!!cc) << "no C compiler 'cc' on PATH";
  llvm::SmallString<256> dirBuf;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory(std::string("gradc-aot-") + c.name, dirBuf));
  std::string dir(dirBuf), log = join(dir, "log.txt"), text;
  std::string obj = join(dir, "m.o"), hdr = join(dir, "m.h");

  // Compile, check the header as C++ too, link, run.
  ASSERT_EQ(run({GRADC_BINARY_DIR "/tools/gradc", "compile", test::sourcePath(model), "-o", obj,
                 "--header", hdr, "--name", "aotm", "--target-cpu", c.cpu, "--threads",
                 std::to_string(c.threads)},
                log, text),
            0)
      << text;
  std::string cxxSrc = join(dir, "h.cpp");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(cxxSrc, ec);
    os << "#include \"m.h\"\nint main() { return aotm_abi_version() == AOTM_ABI_VERSION ? 0 : 1; "
          "}\n";
  }
  if (auto cxx = llvm::sys::findProgramByName("c++")) {
    EXPECT_EQ(run({*cxx, "-std=c++17", "-Wall", "-Wextra", "-pedantic", "-Werror", "-c", "-I", dir,
                   cxxSrc, "-o", join(dir, "h.o")},
                  log, text),
              0)
        << "header as C++: " << text;
  }
  std::string exe = join(dir, "driver");
  ASSERT_EQ(run({*cc,
                 "-std=c99",
                 "-Wall",
                 "-Wextra",
                 "-pedantic",
                 "-Werror",
                 "-I",
                 dir,
                 "-DM_HEADER=\"m.h\"",
                 "-DM=aotm",
                 "-DMU=AOTM",
                 std::string("-DIN=") + c.in,
                 std::string("-DOUT=") + c.out,
                 std::string("-DLAB=") + c.lab,
                 std::string("-DLAB_T=") + c.labType,
                 test::sourcePath("tests/aot/aot_driver.c"),
                 obj,
                 "-lm",
                 c.threads > 1 ? "-lpthread" : "-lm",
                 "-o",
                 exe},
                log, text),
            0)
      << text;

  // The JIT side, from the same seed and inputs.
  auto inferGraph = graph(model, false), trainGraph = graph(model, true);
  auto layout = test::expectOk(codegen::layoutAot(inferGraph.get(), trainGraph.get()));
  bool exact = std::string(c.cpu) != "x86-64";
  codegen::CodegenOptions opts;
  if (std::string(c.cpu) != "native" && exact)
    opts.cpu = c.cpu;
  auto inferExe = test::expectOk(codegen::compileGraph(*inferGraph, opts));
  auto trainExe = test::expectOk(codegen::compileGraph(*trainGraph, opts));
  rt::ParamStore params;
  test::expectOk(params.initialize(trainExe->buffers(), kSeed));
  rt::Session infer(*inferExe, params), train(*trainExe, params);
  test::expectOk(infer.setBatch(kBatch));
  test::expectOk(train.setBatch(kBatch));
  std::string inName = llvm::StringRef(c.in).lower(), labName = llvm::StringRef(c.lab).lower();
  rt::Tensor *in = train.find(inName), *lab = train.find(labName);
  ASSERT_TRUE(in && lab);
  for (int64_t i = 0; i < in->numel(); ++i)
    in->f32()[i] = static_cast<float>(std::sin(0.37 * double(i)));
  for (int64_t i = 0; i < lab->numel(); ++i) {
    if (lab->dtype() == DType::I32)
      lab->i32()[i] = int32_t((i * 7) % 10);
    else
      lab->f32()[i] = float(i % 2);
  }
  std::memcpy(infer.find(inName)->data(), in->data(), in->bytes());
  auto writeRaw = [&](const char *name, const rt::Tensor &t) {
    std::error_code ec;
    llvm::raw_fd_ostream os(join(dir, name), ec);
    os.write(static_cast<const char *>(t.data()), t.bytes());
  };
  writeRaw("in.bin", *in);
  writeRaw("lab.bin", *lab);
  ASSERT_EQ(run({exe, dir, std::to_string(kBatch), std::to_string(kSeed), num(c.lr),
                 std::to_string(c.steps)},
                log, text),
            0)
      << text;

  std::string init = readFile(join(dir, "params_init.bin"));
  ASSERT_EQ(int64_t(init.size()), layout.paramsBytes);
  for (const codegen::AotTensor &t : layout.params) {
    const rt::Tensor *p = params.find(t.name);
    ASSERT_TRUE(p);
    EXPECT_EQ(std::memcmp(init.data() + t.offset, p->data(), p->bytes()), 0)
        << "initial param " << t.name << " differs from rt::ParamStore::initialize";
  }

  test::expectOk(infer.run());
  std::string out = readFile(join(dir, "out.bin"));
  const rt::Tensor &jitOut = *infer.findRole(rt::BufferRole::Output);
  ASSERT_EQ(out.size(), jitOut.bytes());
  compare("inference output", reinterpret_cast<const float *>(out.data()), jitOut.f32(),
          jitOut.numel(), exact);

  for (int t = 1; t <= c.steps; ++t) {
    test::expectOk(rt::feedHyperInputs(train, c.lr, t));
    test::expectOk(train.run());
  }
  std::string loss = readFile(join(dir, "loss.bin"));
  ASSERT_EQ(loss.size(), sizeof(float));
  compare("loss", reinterpret_cast<const float *>(loss.data()),
          train.findRole(rt::BufferRole::Loss)->f32(), 1, exact);
  std::string after = readFile(join(dir, "params_after.bin"));
  ASSERT_EQ(int64_t(after.size()), layout.paramsBytes);
  for (const codegen::AotTensor &t : layout.params)
    compare(("updated param " + t.name).c_str(),
            reinterpret_cast<const float *>(after.data() + t.offset), params.find(t.name)->f32(),
            t.numel, exact);
  std::string state = readFile(join(dir, "opt_after.bin"));
  ASSERT_EQ(int64_t(state.size()), layout.optStateBytes);
  for (const codegen::AotTensor &t : layout.optState)
    compare(("optimizer state " + t.name).c_str(),
            reinterpret_cast<const float *>(state.data() + t.offset), params.find(t.name)->f32(),
            t.numel, exact);

  // Nothing but libc and libm.
  auto nm = llvm::sys::findProgramByName("nm");
  ASSERT_TRUE(!!nm);
  ASSERT_EQ(run({*nm, "-u", obj}, log, text), 0) << text;
  // (_GLOBAL_OFFSET_TABLE_ is the linker's.)
  const llvm::StringRef allowed[] = {"_GLOBAL_OFFSET_TABLE_",
                                     "memcpy",
                                     "memset",
                                     "memmove",
                                     "malloc",
                                     "free",
                                     "log",
                                     "cos",
                                     "pow",
                                     "exp",
                                     "sqrt",
                                     "expf",
                                     "logf",
                                     "tanhf",
                                     "sqrtf",
                                     "powf",
                                     "floorf",
                                     "ceilf",
                                     "truncf",
                                     "roundf",
                                     "rintf",
                                     "nearbyintf",
                                     "fmaf",
                                     "erff",
                                     "pthread_create",
                                     "pthread_join"};
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(text).split(lines, '\n', -1, false);
  bool usesThreads = false;
  for (llvm::StringRef line : lines) {
    llvm::StringRef sym = line.trim().drop_front(1).trim(); // "U name"
    // _ZGV...: glibc's libmvec vector functions, which -lm brings in.
    EXPECT_TRUE(llvm::is_contained(allowed, sym) || sym.starts_with("_ZGV"))
        << "undefined symbol outside libc/libm/pthread: " << sym.str();
    usesThreads |= sym.starts_with("pthread_");
  }
  EXPECT_EQ(usesThreads, c.threads > 1) << "pthread is used exactly when --threads > 1";
  if (!HasFailure())
    llvm::sys::fs::remove_directories(dir);
}

INSTANTIATE_TEST_SUITE_P(Models, AotParity, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case> &i) {
                           return std::string(i.param.name);
                         });

} // namespace
