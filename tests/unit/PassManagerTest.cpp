//===- tests/unit/PassManagerTest.cpp - Instrumentation of the pipeline ---===//
//
// Drives the PassManager with small passes defined here (one that changes the
// graph, one that does not, one that breaks it, one that fails), so each
// instrumentation feature is tested apart from the real passes; the last
// tests run the registered pipeline once.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"

#include "ir/Parser.h"
#include "ir/Printer.h"

#include "tests/TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <functional>

using namespace gradc;
using namespace gradc::passes;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {

class FnPass : public Pass {
public:
  using Fn = std::function<llvm::Expected<bool>(ir::Graph &)>;
  FnPass(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  llvm::StringRef name() const override { return name_; }
  llvm::Expected<bool> run(ir::Graph &g, PassContext &) override {
    ++runs;
    return fn_(g);
  }
  int runs = 0;

private:
  std::string name_;
  Fn fn_;
};

/// Appends `%<name> = neg(<last value>)`: changes the graph.
std::unique_ptr<FnPass> appendNeg(std::string name) {
  return std::make_unique<FnPass>(name, [name](ir::Graph &g) -> llvm::Expected<bool> {
    ir::Value *last = g.nodes().empty() ? g.inputs()[0] : g.nodes().back()->result();
    ir::Builder b(g, ir::Location{"", 0, "", "test", ""});
    auto v = b.create(ir::OpKind::Neg, {last}, {}, name + ".out");
    if (!v)
      return v.takeError();
    return true;
  });
}

std::unique_ptr<FnPass> noop(std::string name) {
  return std::make_unique<FnPass>(name, [](ir::Graph &) { return false; });
}

/// Records a wrong result type and reports `changed`.
std::unique_ptr<FnPass> breakTypes(bool reportChanged) {
  return std::make_unique<FnPass>("break", [reportChanged](ir::Graph &g) {
    g.nodes().back()->result()->setType(TensorType(DType::F32, {7}));
    return reportChanged;
  });
}

std::unique_ptr<ir::Graph> smallGraph() {
  return expectOk(ir::parseGraph("graph @g {\n  input %x : f32[N,4]\n"
                                 "  %r = relu(%x) : f32[N,4]\n  output %r\n}\n",
                                 "g.gir"));
}

struct PipelineRun {
  std::string out, err;
  llvm::Error error = llvm::Error::success();
  bool stopped = false;
};

PipelineRun runPipeline(Instrumentation inst, std::vector<std::unique_ptr<Pass>> passes,
                ir::Graph &g) {
  PipelineRun r;
  llvm::raw_string_ostream out(r.out), err(r.err);
  PassManager pm(std::move(inst), out, err);
  if (auto e = pm.setPipeline(std::move(passes))) {
    r.error = std::move(e);
    return r;
  }
  PassContext ctx;
  r.error = pm.run(g, ctx);
  r.stopped = pm.stoppedEarly();
  return r;
}

template <typename... P> std::vector<std::unique_ptr<Pass>> pipeline(P... p) {
  std::vector<std::unique_ptr<Pass>> v;
  (v.push_back(std::move(p)), ...);
  return v;
}

size_t count(const std::string &s, const std::string &needle) {
  size_t n = 0;
  for (size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + 1))
    ++n;
  return n;
}

} // namespace

TEST(PassManager, PrintAfterAllPrintsEachPassUnderItsHeader) {
  auto g = smallGraph();
  Instrumentation inst;
  inst.printAfterAll = true;
  PipelineRun r = runPipeline(inst, pipeline(appendNeg("one"), noop("two")), *g);
  expectOk(std::move(r.error));
  size_t one = r.out.find("// ----- IR Dump After one ----- //\ngraph @g {\n");
  size_t two = r.out.find("// ----- IR Dump After two ----- //\ngraph @g {\n");
  ASSERT_NE(one, std::string::npos) << r.out;
  ASSERT_NE(two, std::string::npos) << r.out;
  EXPECT_LT(one, two);
  // The dump after `one` already shows its node.
  EXPECT_NE(r.out.find("%one.out = neg(%r) : f32[N,4] loc(test)", one), std::string::npos);
  EXPECT_EQ(count(r.out, "IR Dump"), 2u);
  EXPECT_TRUE(r.err.empty());
}

TEST(PassManager, PrintBeforeAndAfterNamedPasses) {
  auto g = smallGraph();
  Instrumentation inst;
  inst.printAfter = {"two"};
  inst.printBefore = {"one"};
  PipelineRun r = runPipeline(inst, pipeline(appendNeg("one"), noop("two")), *g);
  expectOk(std::move(r.error));
  EXPECT_EQ(count(r.out, "IR Dump"), 2u) << r.out;
  size_t before = r.out.find("// ----- IR Dump Before one ----- //");
  size_t after = r.out.find("// ----- IR Dump After two ----- //");
  ASSERT_NE(before, std::string::npos);
  ASSERT_NE(after, std::string::npos);
  // Before `one` its node does not exist yet.
  EXPECT_EQ(r.out.substr(before, after - before).find("one.out"), std::string::npos);
}

TEST(PassManager, PrintAfterChangeSkipsPassesThatChangedNothing) {
  auto g = smallGraph();
  Instrumentation inst;
  inst.printAfterChange = true;
  PipelineRun r = runPipeline(inst, pipeline(noop("a"), appendNeg("b"), noop("c")), *g);
  expectOk(std::move(r.error));
  EXPECT_EQ(count(r.out, "IR Dump"), 1u) << r.out;
  EXPECT_NE(r.out.find("// ----- IR Dump After b ----- //"), std::string::npos);

  // With --print-ir-after it narrows the named passes to changing ones.
  auto g2 = smallGraph();
  inst.printAfter = {"a"};
  r = runPipeline(inst, pipeline(noop("a"), appendNeg("b")), *g2);
  expectOk(std::move(r.error));
  EXPECT_EQ(r.out, "");
}

TEST(PassManager, StopAfter) {
  auto g = smallGraph();
  Instrumentation inst;
  inst.stopAfter = "one";
  auto one = appendNeg("one");
  auto two = appendNeg("two");
  FnPass *twoRaw = two.get();
  PassManager pm(inst, llvm::nulls(), llvm::nulls());
  expectOk(pm.setPipeline(pipeline(std::move(one), std::move(two))));
  PassContext ctx;
  expectOk(pm.run(*g, ctx));
  EXPECT_TRUE(pm.stoppedEarly());
  EXPECT_EQ(twoRaw->runs, 0);
  EXPECT_TRUE(g->lookup("one.out"));
  EXPECT_FALSE(g->lookup("two.out"));
}

TEST(PassManager, VerifiesAfterChangingPasses) {
  auto g = smallGraph();
  PipelineRun r = runPipeline(Instrumentation(), pipeline(breakTypes(true)), *g);
  EXPECT_EQ(errorText(std::move(r.error)),
            "verifier failed after break: g.gir: node %r (relu): result type f32[7] does "
            "not match inferred f32[N,4]");

  // A pass that reports no change is not verified after...
  auto g2 = smallGraph();
  expectOk(std::move(runPipeline(Instrumentation(), pipeline(breakTypes(false)), *g2).error));
  // ... and verifyEach=false turns verification off.
  auto g3 = smallGraph();
  Instrumentation off;
  off.verifyEach = false;
  expectOk(std::move(runPipeline(off, pipeline(breakTypes(true)), *g3).error));
}

TEST(PassManager, PassErrorsAreReturnedAsTheyAre) {
  auto g = smallGraph();
  auto fail = std::make_unique<FnPass>("fail", [](ir::Graph &) -> llvm::Expected<bool> {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "m.pbtxt:3: boom");
  });
  auto after = noop("after");
  FnPass *afterRaw = after.get(); // owned by pm, which outlives its use here
  PassManager pm(Instrumentation(), llvm::nulls(), llvm::nulls());
  expectOk(pm.setPipeline(pipeline(std::move(fail), std::move(after))));
  PassContext ctx;
  EXPECT_EQ(errorText(pm.run(*g, ctx)), "m.pbtxt:3: boom");
  EXPECT_EQ(afterRaw->runs, 0);
}

TEST(PassManager, DumpDirWritesNumberedFilesThatParseBack) {
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("gradc-pm-test", dir));
  std::string dumps = (dir + "/nested/dumps").str(); // created by the pass manager
  auto g = smallGraph();
  Instrumentation inst;
  inst.dumpDir = dumps;
  PipelineRun r = runPipeline(inst, pipeline(appendNeg("one"), noop("two")), *g);
  expectOk(std::move(r.error));
  EXPECT_EQ(r.out, ""); // dumps go to files only

  const char *files[] = {"00-input.gir", "01-one.gir", "02-two.gir"};
  const char *headers[] = {"// ----- Input IR ----- //\n",
                           "// ----- IR Dump After one ----- //\n",
                           "// ----- IR Dump After two ----- //\n"};
  for (int i = 0; i < 3; ++i) {
    auto buf = llvm::MemoryBuffer::getFile(dumps + "/" + files[i]);
    ASSERT_TRUE(!!buf) << files[i];
    llvm::StringRef text = (*buf)->getBuffer();
    EXPECT_TRUE(text.starts_with(headers[i])) << text.str();
    auto parsed = expectOk(ir::parseGraph(text, files[i]));
    EXPECT_EQ(parsed->lookup("one.out") != nullptr, i > 0) << files[i];
    if (i == 2) {
      EXPECT_EQ(ir::graphToString(*parsed), ir::graphToString(*g));
    }
  }
  llvm::sys::fs::remove_directories(dir);
}

TEST(PassManager, DumpDirThatCannotBeCreatedIsAnError) {
  llvm::SmallString<128> file;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("gradc-pm-test", "txt", file));
  auto g = smallGraph();
  Instrumentation inst;
  inst.dumpDir = (file + "/dumps").str();
  PipelineRun r = runPipeline(inst, pipeline(noop("a")), *g);
  std::string msg = errorText(std::move(r.error));
  EXPECT_EQ(msg.rfind("cannot create IR dump directory '" + inst.dumpDir + "': ", 0), 0u)
      << msg;
  llvm::sys::fs::remove(file);
}

TEST(PassManager, TimePassesReportsEveryPass) {
  auto g = smallGraph();
  Instrumentation inst;
  inst.timePasses = true;
  PipelineRun r = runPipeline(inst, pipeline(appendNeg("first-pass"), noop("second-pass")), *g);
  expectOk(std::move(r.error));
  EXPECT_EQ(r.err.rfind("===- Pass execution timing report -===\n", 0), 0u) << r.err;
  size_t first = r.err.find("  first-pass\n");
  size_t second = r.err.find("  second-pass\n");
  size_t total = r.err.find("  Total\n");
  EXPECT_NE(first, std::string::npos) << r.err;
  EXPECT_LT(first, second);
  EXPECT_LT(second, total);
  EXPECT_NE(total, std::string::npos);
  EXPECT_EQ(r.out, "");
}

TEST(PassManager, FlagsMustNamePassesOfThePipeline) {
  auto g = smallGraph();
  Instrumentation inst;
  inst.printAfter = {"missing"};
  EXPECT_EQ(errorText(std::move(runPipeline(inst, pipeline(noop("a")), *g).error)),
            "--print-ir-after names pass 'missing', which is not in the pipeline (a)");
  inst = Instrumentation();
  inst.printBefore = {"missing"};
  EXPECT_EQ(errorText(std::move(runPipeline(inst, pipeline(noop("a"), noop("b")), *g).error)),
            "--print-ir-before names pass 'missing', which is not in the pipeline (a, b)");
  inst = Instrumentation();
  inst.stopAfter = "missing";
  EXPECT_EQ(errorText(std::move(runPipeline(inst, pipeline(), *g).error)),
            "--stop-after names pass 'missing', which is not in the pipeline (empty)");
}

TEST(PassManager, UnknownRegisteredPassListsTheKnownOnes) {
  PassManager pm(Instrumentation(), llvm::nulls(), llvm::nulls());
  std::string msg = errorText(pm.setPipeline(std::vector<std::string>{"infer-shapes", "nope"}));
  std::string known;
  for (llvm::StringRef n : allPassNames())
    known += (known.empty() ? "" : ", ") + n.str();
  EXPECT_EQ(msg, "unknown pass 'nope' (known: " + known + ")");
  EXPECT_NE(known.find("infer-shapes, train-mode, autodiff"), std::string::npos);
}

TEST(PassManager, RegistryAndDefaultPipelines) {
  for (llvm::StringRef name : allPassNames()) {
    auto p = createPass(name);
    ASSERT_TRUE(p) << name.str();
    EXPECT_EQ(p->name(), name);
  }
  EXPECT_FALSE(createPass("nope"));
  EXPECT_EQ(defaultPipeline(true),
            (std::vector<std::string>{"expand-layers", "infer-shapes", "train-mode", "autodiff",
                                      "optimizer", "dce", "fuse", "plan-memory"}));
  EXPECT_EQ(defaultPipeline(false), (std::vector<std::string>{"expand-layers", "infer-shapes",
                                                              "dce", "fuse", "plan-memory"}));
}

TEST(PassManager, RunsTheRegisteredInferencePipeline) {
  auto g = expectOk(ir::parseGraph("graph @g {\n  input %x : f32[N,4]\n"
                                   "  %r = relu(%x) : ?\n  %dead = tanh(%x) : ?\n"
                                   "  output %r\n}\n",
                                   "g.gir"));
  std::string out;
  llvm::raw_string_ostream os(out);
  Instrumentation inst;
  inst.printAfterAll = true;
  PassManager pm(inst, os, llvm::nulls());
  expectOk(pm.setPipeline(defaultPipeline(false)));
  EXPECT_EQ(pm.pipeline(), defaultPipeline(false));
  PassContext ctx;
  expectOk(pm.run(*g, ctx));
  EXPECT_EQ(g->lookup("r")->type(), TensorType(DType::F32, {kBatch, 4}));
  EXPECT_FALSE(g->lookup("dead"));
  EXPECT_NE(out.find("// ----- IR Dump After infer-shapes ----- //"), std::string::npos);
  EXPECT_NE(out.find("// ----- IR Dump After dce ----- //"), std::string::npos);
}
