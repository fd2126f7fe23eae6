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

namespace gradc::driver {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

static std::vector<std::string> pipelineFor(Mode mode) {
  switch (mode) {
  case Mode::Infer:
    return passes::defaultPipeline(false);
  case Mode::Train:
    return passes::defaultPipeline(true);
  case Mode::Eval:
    return {"infer-shapes", "dce"};
  case Mode::Grad:
    return {"infer-shapes", "autodiff", "dce"};
  }
  return {};
}

llvm::Expected<std::unique_ptr<ir::Graph>> buildGraph(const std::string &modelPath,
                                                      Mode mode,
                                                      const passes::Instrumentation &inst,
                                                      bool *stoppedEarly) {
  auto g = frontend::loadModelFile(modelPath);
  if (!g)
    return g.takeError();
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

llvm::Expected<std::unique_ptr<rt::Executable>> compile(const ir::Graph &g,
                                                        std::string *llvmIR) {
  codegen::CodegenOptions opts;
  opts.llvmIROut = llvmIR;
  return codegen::compileGraph(g, opts);
}

} // namespace gradc::driver
