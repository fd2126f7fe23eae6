//===- tests/unit/AotLayoutTest.cpp - Caller buffers of AOT objects -------===//
//
// codegen/AotLayout: params and optimizer state at 64-byte aligned offsets in
// param-list order; every workspace buffer 64-byte aligned, disjoint from the
// others for any batch, and inside the workspace size (fixed + perSample *
// batch); the arrays each entry point takes; C names and their collisions.
//
//===----------------------------------------------------------------------===//
#include "tests/TestUtil.h"

#include "codegen/AotLayout.h"
#include "frontend/ModelLoader.h"
#include "passes/PassManager.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>

using namespace gradc;
using codegen::AotEntry;
using codegen::AotLayout;
using codegen::AotSlot;

namespace {

std::unique_ptr<ir::Graph> build(std::unique_ptr<ir::Graph> g, bool train) {
  passes::PassManager pm({}, llvm::nulls(), llvm::errs());
  test::expectOk(pm.setPipeline(passes::defaultPipeline(train)));
  passes::PassContext ctx;
  ctx.training = train;
  test::expectOk(pm.run(*g, ctx));
  return g;
}

std::unique_ptr<ir::Graph> example(const char *model, bool train) {
  return build(test::expectOk(frontend::loadModelFile(test::sourcePath(model))), train);
}

int64_t bytesFor(const rt::BufferDesc &d, int64_t batch) {
  int64_t n = sizeOf(d.dtype);
  for (int64_t x : d.shape)
    n *= x == kBatch ? batch : x;
  return n;
}

/// Every workspace buffer of `e` is aligned, inside the workspace, and
/// disjoint from the others, for `batch`, except that the members of one
/// memory slot (plan-memory) share one place.
void checkWorkspace(const AotEntry &e, int64_t batch) {
  const int64_t size = e.workspaceFixed + e.workspacePerSample * batch;
  std::vector<std::pair<int64_t, int64_t>> spans;
  std::map<int32_t, size_t> spanOfSlot;
  for (size_t i = 0; i < e.slots.size(); ++i) {
    const AotSlot &s = e.slots[i];
    if (s.kind != AotSlot::Workspace)
      continue;
    const rt::BufferDesc &d = e.layout.buffers[i];
    int64_t begin = s.fixed + s.perSample * batch;
    int64_t end = begin + bytesFor(d, batch);
    EXPECT_EQ(begin % codegen::kAotAlignment, 0) << d.name;
    EXPECT_LE(end, size) << d.name << " at batch " << batch;
    if (d.slot >= 0 && spanOfSlot.count(d.slot)) {
      auto &span = spans[spanOfSlot[d.slot]];
      EXPECT_EQ(span.first, begin) << d.name << " is not where its memory slot is";
      span.second = std::max(span.second, end);
      continue;
    }
    if (d.slot >= 0)
      spanOfSlot[d.slot] = spans.size();
    spans.emplace_back(begin, end);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t i = 1; i < spans.size(); ++i)
    EXPECT_LE(spans[i - 1].second, spans[i].first) << "overlap at batch " << batch;
}

TEST(AotLayout, MnistParamsAndWorkspace) {
  auto infer = example("examples/mlp_mnist.pbtxt", false);
  auto train = example("examples/mlp_mnist.pbtxt", true);
  AotLayout l = test::expectOk(codegen::layoutAot(infer.get(), train.get()));

  std::vector<std::string> names;
  for (const codegen::AotTensor &t : l.params) {
    names.push_back(t.name);
    EXPECT_EQ(t.offset % codegen::kAotAlignment, 0) << t.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"W1", "b1", "W2", "b2"}));
  EXPECT_EQ(l.params[1].offset, 784 * 256 * 4);
  EXPECT_EQ(l.params[0].numel, 784 * 256);
  EXPECT_EQ(l.paramsBytes, l.params[3].offset + 64); // b2: 40 bytes, padded
  EXPECT_TRUE(l.optState.empty());                  // plain SGD
  EXPECT_EQ(l.optStateBytes, 0);

  ASSERT_EQ(l.infer->inputs.size(), 1u); // the labels are not read
  EXPECT_EQ(l.infer->inputs[0].name, "x");
  ASSERT_EQ(l.infer->outputs.size(), 1u);
  EXPECT_EQ(l.infer->outputs[0].name, "logits");
  ASSERT_EQ(l.train->inputs.size(), 2u);
  EXPECT_EQ(l.train->inputs[1].name, "y");
  EXPECT_GE(l.train->lossBuffer, 0);
  EXPECT_EQ(l.infer->maxBatch, l.train->maxBatch);
  for (int64_t batch : {1, 7, 64, 1000}) {
    checkWorkspace(*l.infer, batch);
    checkWorkspace(*l.train, batch);
  }
}

TEST(AotLayout, AdamStateFollowsTheParams) {
  auto train = example("tests/aot/xor_adam.pbtxt", true);
  AotLayout l = test::expectOk(codegen::layoutAot(nullptr, train.get()));
  EXPECT_EQ(l.infer, nullptr);
  EXPECT_EQ(l.params.size(), 4u);
  EXPECT_EQ(l.optState.size(), 8u); // two moments per param
  for (const codegen::AotTensor &t : l.optState)
    EXPECT_EQ(t.offset % codegen::kAotAlignment, 0) << t.name;
  EXPECT_EQ(l.optStateBytes, 8 * 64);
  for (int64_t batch : {1, 4, 33})
    checkWorkspace(*l.train, batch);
}

TEST(AotLayout, CIdentifiers) {
  EXPECT_EQ(codegen::cIdentifier("W1"), "W1");
  EXPECT_EQ(codegen::cIdentifier("W1.m"), "W1_m");
  EXPECT_EQ(codegen::cIdentifier("1st"), "_1st");
  EXPECT_EQ(codegen::cIdentifier(""), "_");
}

TEST(AotLayout, ParamsWithTheSameCNameAreAnError) {
  const char *text = R"(
name: "clash"
input { name: "x" type { shape { sym: "N" } shape { size: 2 } } }
param { name: "w.a" type { shape { size: 2 } } init { kind: "zeros" } }
param { name: "w_a" type { shape { size: 2 } } init { kind: "zeros" } }
node { name: "n1" op: "add" inputs: "x" inputs: "w.a" outputs: "h" }
node { name: "n2" op: "add" inputs: "h" inputs: "w_a" outputs: "out" }
output: "out"
)";
  auto g = build(test::expectOk(frontend::loadModelText(text, "clash.pbtxt")), false);
  EXPECT_EQ(test::errorText(codegen::layoutAot(g.get(), nullptr).takeError()),
            "param 'w_a' has the C name 'w_a' of another param");
}

} // namespace
