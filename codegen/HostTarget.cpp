//===- codegen/HostTarget.cpp - The host CPU as a target, and O3 for it ---===//
//
// JITTargetMachineBuilder::detectHost() fills in the process triple, the
// host CPU name (sys::getHostCPUName) and its feature set
// (sys::getHostCPUFeatures), so the TargetMachine made from it has AVX-512
// on a CPU that has it. The same builder is given to LLJIT, so the optimizer
// (which needs the TargetMachine for its cost model: vector width, unroll
// thresholds) and the JIT's code generator agree on the machine.
//
//===----------------------------------------------------------------------===//
#include "codegen/HostTarget.h"

#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/PassManager.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"

#include <mutex>

namespace gradc::codegen {

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

static llvm::CodeGenOptLevel codeGenLevel(unsigned optLevel) {
  switch (optLevel) {
  case 0:
    return llvm::CodeGenOptLevel::None;
  case 1:
    return llvm::CodeGenOptLevel::Less;
  case 2:
    return llvm::CodeGenOptLevel::Default;
  default:
    return llvm::CodeGenOptLevel::Aggressive;
  }
}

llvm::Expected<llvm::orc::JITTargetMachineBuilder>
hostTargetBuilder(unsigned optLevel, const std::string &cpu, bool positionIndependent) {
  initializeNativeTarget();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb)
    return jtmb.takeError();
  if (!cpu.empty()) {
    // Ask before building: LLVM itself only warns and ignores an unknown CPU.
    std::string msg;
    const llvm::Target *target =
        llvm::TargetRegistry::lookupTarget(jtmb->getTargetTriple().str(), msg);
    if (!target)
      return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
    std::unique_ptr<llvm::MCSubtargetInfo> sti(
        target->createMCSubtargetInfo(jtmb->getTargetTriple().str(), "", ""));
    if (!sti || !sti->isCPUStringValid(cpu))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "unknown target CPU '" + cpu + "' for " +
                                         jtmb->getTargetTriple().str());
    jtmb->setCPU(cpu);
    jtmb->setFeatures("");
  }
  jtmb->setCodeGenOptLevel(codeGenLevel(optLevel));
  if (positionIndependent)
    jtmb->setRelocationModel(llvm::Reloc::PIC_);
  return jtmb;
}

TargetInfo targetInfo(const llvm::TargetMachine &tm) {
  // Asks the subtarget, so features implied by the CPU name count too.
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  TargetInfo t;
  if (sti->checkFeatures("+avx512f")) {
    t.f32Lanes = 16;
    t.vectorRegisters = 32;
  } else if (sti->checkFeatures("+avx")) {
    t.f32Lanes = 8;
  }
  return t;
}

void targetModule(llvm::Module &m, llvm::TargetMachine &tm) {
  m.setTargetTriple(tm.getTargetTriple().str());
  m.setDataLayout(tm.createDataLayout());
  std::string cpu = tm.getTargetCPU().str();
  std::string features = tm.getTargetFeatureString().str();
  for (llvm::Function &f : m) {
    if (f.isDeclaration())
      continue;
    f.addFnAttr("target-cpu", cpu);
    if (!features.empty())
      f.addFnAttr("target-features", features);
  }
}

void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, unsigned optLevel) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;

  llvm::PipelineTuningOptions pto;
  pto.LoopVectorization = optLevel >= 2;
  pto.SLPVectorization = optLevel >= 2;
  pto.LoopInterleaving = optLevel >= 2;
  pto.LoopUnrolling = optLevel >= 2;

  llvm::PassBuilder pb(&tm, pto);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);

  llvm::OptimizationLevel level = optLevel == 0   ? llvm::OptimizationLevel::O0
                                  : optLevel == 1 ? llvm::OptimizationLevel::O1
                                  : optLevel == 2 ? llvm::OptimizationLevel::O2
                                                  : llvm::OptimizationLevel::O3;
  llvm::ModulePassManager mpm = level == llvm::OptimizationLevel::O0
                                    ? pb.buildO0DefaultPipeline(level)
                                    : pb.buildPerModuleDefaultPipeline(level);
  mpm.run(m, mam);
}

void finishModule(llvm::Module &m, llvm::TargetMachine &tm, unsigned optLevel) {
  targetModule(m, tm);
  optimizeModule(m, tm, optLevel);
}

} // namespace gradc::codegen
