//===- codegen/Aot.cpp - A model as an object file and a C header ---------===//
//
// compileAot: lay out the caller's buffers (AotLayout), add the steps to one
// module as internal functions (ModuleBuilder's addStepFunction, as the JIT
// builds its one step), define gradc_parallel_for (serial, or on pthreads
// with --threads) and add
// the exported entry points (AotEntries), then target and optimize the
// module exactly as the JIT does (HostTarget's finishModule) with a
// position-independent target machine, and emit it with the code generator
// (object or assembly) or as LLVM IR text.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"

#include "codegen/AotEntries.h"
#include "codegen/AotLayout.h"
#include "codegen/HostTarget.h"
#include "codegen/ModuleBuilder.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc::codegen {

std::string aotHeader(const AotLayout &l, const AotOptions &o, const std::string &cpu);

llvm::Expected<AotArtifact> compileAot(const AotOptions &o) {
  assert((o.infer || o.train) && "nothing to compile");
  auto layout = layoutAot(o.infer, o.train);
  if (!layout)
    return layout.takeError();

  auto jtmb = hostTargetBuilder(o.optLevel, o.cpu, /*positionIndependent=*/true);
  if (!jtmb)
    return jtmb.takeError();
  auto tm = jtmb->createTargetMachine();
  if (!tm)
    return tm.takeError();
  TargetInfo target = targetInfo(**tm);

  llvm::LLVMContext ctx;
  auto m = std::make_unique<llvm::Module>(o.prefix, ctx);
  llvm::Function *inferStep = nullptr, *trainStep = nullptr;
  if (o.infer) {
    auto f = addStepFunction(*o.infer, layout->infer->layout, target, *m, o.prefix + "_infer_step",
                             llvm::Function::InternalLinkage);
    if (!f)
      return f.takeError();
    inferStep = *f;
  }
  if (o.train) {
    auto f = addStepFunction(*o.train, layout->train->layout, target, *m,
                             o.prefix + "_train_step_impl", llvm::Function::InternalLinkage);
    if (!f)
      return f.takeError();
    trainStep = *f;
  }
  defineParallelFor(*m, o.threads);
  if (auto e = addAotEntries(*m, *layout, o.prefix, inferStep, trainStep, o.embeddedParams))
    return e;
  if (auto e = verifyStepModule(*m))
    return e;
  finishModule(*m, **tm, o.optLevel);

  AotArtifact out;
  llvm::raw_string_ostream os(out.object);
  if (o.emit == AotEmit::LLVMIR) {
    m->print(os, nullptr);
  } else {
    llvm::SmallString<0> buffer;
    llvm::raw_svector_ostream bos(buffer);
    llvm::legacy::PassManager pm;
    auto kind = o.emit == AotEmit::Object ? llvm::CodeGenFileType::ObjectFile
                                          : llvm::CodeGenFileType::AssemblyFile;
    if ((*tm)->addPassesToEmitFile(pm, bos, nullptr, kind))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "the target cannot emit this file type");
    pm.run(*m);
    os << buffer;
  }
  os.flush();
  out.header = aotHeader(*layout, o, (*tm)->getTargetCPU().str());
  return out;
}

} // namespace gradc::codegen
