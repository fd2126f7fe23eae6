//===- codegen/PerfMap.cpp - Name JIT code for perf -----------------------===//
#include "codegen/PerfMap.h"

#include "llvm/ExecutionEngine/JITLink/JITLink.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ObjectLinkingLayer.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unistd.h>

namespace gradc::codegen {

namespace {

class PerfMapPlugin : public llvm::orc::ObjectLinkingLayer::Plugin {
public:
  void modifyPassConfig(llvm::orc::MaterializationResponsibility &, llvm::jitlink::LinkGraph &,
                        llvm::jitlink::PassConfiguration &config) override {
    // Pruning drops the names of internal functions (every kernel) that no
    // one looks up; their code stays. Keep the names so the map can list
    // them.
    config.PrePrunePasses.emplace_back(&PerfMapPlugin::keepFunctionNames);
    config.PostFixupPasses.emplace_back(&PerfMapPlugin::append);
  }
  llvm::Error notifyFailed(llvm::orc::MaterializationResponsibility &) override {
    return llvm::Error::success();
  }
  llvm::Error notifyRemovingResources(llvm::orc::JITDylib &, llvm::orc::ResourceKey) override {
    return llvm::Error::success();
  }
  void notifyTransferringResources(llvm::orc::JITDylib &, llvm::orc::ResourceKey,
                                   llvm::orc::ResourceKey) override {}

private:
  static bool isFunction(const llvm::jitlink::Symbol &s) {
    return s.hasName() && s.getSize() > 0 &&
           (static_cast<unsigned>(s.getBlock().getSection().getMemProt()) &
            static_cast<unsigned>(llvm::orc::MemProt::Exec));
  }

  static llvm::Error keepFunctionNames(llvm::jitlink::LinkGraph &g) {
    for (llvm::jitlink::Symbol *s : g.defined_symbols())
      if (isFunction(*s))
        s->setLive(true);
    return llvm::Error::success();
  }

  /// After fix-up every symbol has its final address.
  static llvm::Error append(llvm::jitlink::LinkGraph &g) {
    static std::mutex lock;
    std::string lines;
    for (llvm::jitlink::Symbol *s : g.defined_symbols())
      if (isFunction(*s))
        lines += llvm::formatv("{0:x-} {1:x-} {2}\n", s->getAddress().getValue(),
                               s->getSize(), s->getName())
                     .str();
    std::lock_guard<std::mutex> hold(lock);
    std::string path = "/tmp/perf-" + std::to_string(::getpid()) + ".map";
    if (std::FILE *f = std::fopen(path.c_str(), "a")) {
      std::fwrite(lines.data(), 1, lines.size(), f);
      std::fclose(f);
    }
    return llvm::Error::success();
  }
};

} // namespace

bool perfMapRequested() {
  const char *v = std::getenv("GRADC_PERF_MAP");
  return v && *v && std::strcmp(v, "0") != 0;
}

void addPerfMap(llvm::orc::LLJIT &jit) {
  if (auto *oll = llvm::dyn_cast<llvm::orc::ObjectLinkingLayer>(&jit.getObjLinkingLayer()))
    oll->addPlugin(std::make_unique<PerfMapPlugin>());
}

} // namespace gradc::codegen
