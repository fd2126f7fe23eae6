//===- tools/gradc/Pipeline.cpp - Model file to compiled step -------------===//
//
// The one place where the driver turns a model into a graph for a Mode and a
// graph into an Executable. The pass lists per mode are here; the default
// training and inference pipelines come from passes/ (defaultPipeline).
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Driver.h"

#include "codegen/Jit.h"
#include "frontend/ModelLoader.h"

#include "llvm/Support/raw_ostream.h"

#include <algorithm>

namespace gradc::driver {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

static bool fusionEnabled = true;

void setFusion(bool enabled) { fusionEnabled = enabled; }

static std::vector<std::string> pipelineFor(Mode mode) {
  std::vector<std::string> p;
  switch (mode) {
  case Mode::Infer:
    p = passes::defaultPipeline(false);
    break;
  case Mode::Train:
    p = passes::defaultPipeline(true);
    break;
  case Mode::Eval:
    p = {"expand-layers", "infer-shapes", "dce", "fuse", "plan-memory"};
    break;
  case Mode::Grad:
    p = {"expand-layers", "infer-shapes", "train-mode", "autodiff", "dce", "fuse",
         "plan-memory"};
    break;
  }
  if (!fusionEnabled)
    std::erase(p, "fuse");
  return p;
}

llvm::Error OptimizerFlags::apply(ir::TrainingConfig &t) const {
  if (kind) {
    // Switching to AdamW keeps torch.optim.AdamW's default decay unless the
    // model or a flag sets one.
    if (*kind == "adamw" && t.optimizer != "adamw" && !weightDecay && t.weightDecay == 0)
      t.weightDecay = 0.01;
    t.optimizer = *kind;
  }
  const std::pair<const std::optional<double> *, double *> fields[] = {
      {&momentum, &t.momentum}, {&alpha, &t.alpha}, {&beta1, &t.beta1},
      {&beta2, &t.beta2},       {&eps, &t.eps},     {&weightDecay, &t.weightDecay},
      {&clipNorm, &t.clipNorm}};
  for (auto [flag, field] : fields)
    if (*flag)
      *field = **flag;
  if (nesterov)
    t.nesterov = *nesterov;
  if (llvm::Error e = ir::checkOptimizerConfig(t)) {
    // The checker names fields as the model does; flags spell them with '-'.
    std::string msg = llvm::toString(std::move(e));
    std::replace(msg.begin(), msg.end(), '_', '-');
    return error("optimizer flags: " + msg);
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<ir::Graph>> buildGraph(const std::string &modelPath,
                                                      Mode mode,
                                                      const passes::Instrumentation &inst,
                                                      bool *stoppedEarly,
                                                      const OptimizerFlags &flags) {
  auto g = frontend::loadModelFile(modelPath);
  if (!g)
    return g.takeError();
  if (auto e = flags.apply((*g)->training))
    return e;
  if (mode != Mode::Infer && !(*g)->loss)
    return error(modelPath + ": the model declares no loss (add `loss: \"<name>\"`), so it "
                             "cannot be trained or differentiated");
  passes::PassManager pm(inst, llvm::outs(), llvm::errs());
  if (auto e = pm.setPipeline(pipelineFor(mode)))
    return e;
  passes::PassContext ctx;
  ctx.training = mode != Mode::Infer;
  if (auto e = pm.run(**g, ctx))
    return e;
  if (stoppedEarly)
    *stoppedEarly = pm.stoppedEarly();
  return std::move(*g);
}

llvm::Expected<std::unique_ptr<rt::Executable>> compileEvalStep(const std::string &modelPath) {
  // Today the eval step is the forward graph with its loss; a model with a
  // train/eval mode (dropout, batch norm) selects eval mode here.
  auto g = buildGraph(modelPath, Mode::Eval);
  if (!g)
    return g.takeError();
  return compile(**g);
}

llvm::Expected<std::unique_ptr<rt::Executable>> compile(const ir::Graph &g,
                                                        std::string *llvmIR,
                                                        codegen::CompileTimes *times) {
  codegen::CodegenOptions opts;
  opts.llvmIROut = llvmIR;
  opts.times = times;
  return codegen::compileGraph(g, opts);
}

} // namespace gradc::driver
