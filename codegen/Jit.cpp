//===- codegen/Jit.cpp - Compile a graph to native code with ORC LLJIT ----===//
//
// compileGraph: lay out the buffers (ir/BufferLayout.h), build one module
// for the whole step (ModuleBuilder.cpp), target it at the host and run the
// O3 pipeline (HostTarget.cpp), optionally print it, then hand it to an
// LLJIT whose main JITDylib also resolves symbols of the process (malloc and
// free for scratch copies, memcpy), and look up the entry. The thread pool's
// gradc_parallel_for is defined in the JITDylib as an absolute symbol (its
// address in this process): the process search finds only symbols the
// executable exports, and gradc links without -rdynamic. The Executable owns
// the LLJIT (which owns the code) and a copy of the buffer descriptions; it
// does not keep the graph.
//
// Machine code: instruction selection and register allocation take about as
// long as the O3 pipeline, function by function, so they run on several
// threads. The optimized module is split into parts (llvm::SplitModule,
// functions dealt round-robin by size; a function called from another part
// becomes a hidden external symbol), each part goes through bitcode into a
// context of its own (an LLVMContext is not thread-safe), a thread per part
// emits its object file, and the LLJIT links the objects. Optimizing the
// parts separately would save more, but the O3 pipeline's interprocedural
// passes (constants into the shared GEMM micro-kernels) then see only
// their part, so optimization stays one pass over the whole module.
//
//===----------------------------------------------------------------------===//
#include "codegen/Jit.h"

#include "codegen/HostTarget.h"
#include "codegen/ModuleBuilder.h"
#include "codegen/ParallelFor.h"
#include "codegen/PerfMap.h"

#include "ir/BufferLayout.h"
#include "runtime/ThreadPool.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/Support/SmallVectorMemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <algorithm>
#include <chrono>
#include <system_error>
#include <thread>

namespace gradc::codegen {

namespace {

using StepFn = void (*)(void **buffers, int64_t batch);

class JitExecutable : public rt::Executable {
public:
  JitExecutable(std::unique_ptr<llvm::orc::LLJIT> jit, StepFn fn,
                std::vector<rt::BufferDesc> buffers)
      : jit_(std::move(jit)), fn_(fn), buffers_(std::move(buffers)) {
    for (const rt::BufferDesc &d : buffers_)
      usesBatch_ |= hasBatch(d.shape);
  }

  const std::vector<rt::BufferDesc> &buffers() const override { return buffers_; }

  llvm::Error run(void *const *bufs, int64_t batch) override {
    if (usesBatch_ && batch < 0)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     "batch size must be >= 0, got " +
                                         std::to_string(batch));
    fn_(const_cast<void **>(bufs), batch);
    return llvm::Error::success();
  }

private:
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  StepFn fn_;
  std::vector<rt::BufferDesc> buffers_;
  bool usesBatch_ = false;
};

llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Codegen needs every type: the shape rules ran (infer-shapes).
llvm::Error checkTypesKnown(const ir::Graph &g) {
  auto check = [&](const ir::Value *v) -> llvm::Error {
    if (!v->type().known)
      return err("cannot compile graph '" + g.name + "': the type of %" + v->name() +
                 " is not known (run infer-shapes first)");
    return llvm::Error::success();
  };
  for (const ir::Value *v : g.inputs())
    if (auto e = check(v))
      return e;
  for (const ir::Value *v : g.params())
    if (auto e = check(v))
      return e;
  for (const auto &n : g.nodes())
    for (const ir::Value *v : n->results())
      if (auto e = check(v))
        return e;
  return llvm::Error::success();
}

/// Object files for `m` (optimized): one, or `parts` compiled on as many
/// threads (see the header).
llvm::Expected<std::vector<std::unique_ptr<llvm::MemoryBuffer>>>
emitObjects(std::unique_ptr<llvm::Module> m, const llvm::orc::JITTargetMachineBuilder &jtmb,
            unsigned parts) {
  std::vector<llvm::SmallVector<char, 0>> bitcode;
  if (parts > 1) {
    llvm::SplitModule(*m, parts, [&](std::unique_ptr<llvm::Module> part) {
      bitcode.emplace_back();
      llvm::raw_svector_ostream os(bitcode.back());
      llvm::WriteBitcodeToFile(*part, os);
    }, /*PreserveLocals=*/false, /*RoundRobin=*/true);
    m.reset();
  }
  const size_t count = parts > 1 ? bitcode.size() : 1;
  std::vector<llvm::SmallVector<char, 0>> objects(count);
  std::vector<std::string> errors(count);
  auto compile = [&](size_t i) {
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> own;
    llvm::Module *part = m.get();
    if (!part) {
      auto parsed = llvm::parseBitcodeFile(
          llvm::MemoryBufferRef(llvm::StringRef(bitcode[i].data(), bitcode[i].size()), "part"),
          ctx);
      if (!parsed) {
        errors[i] = llvm::toString(parsed.takeError());
        return;
      }
      own = std::move(*parsed);
      part = own.get();
    }
    llvm::orc::JITTargetMachineBuilder builder = jtmb; // createTargetMachine is not const
    auto tm = builder.createTargetMachine();
    if (!tm) {
      errors[i] = llvm::toString(tm.takeError());
      return;
    }
    llvm::raw_svector_ostream os(objects[i]);
    llvm::legacy::PassManager pm;
    if ((*tm)->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile)) {
      errors[i] = "the target cannot emit object files";
      return;
    }
    pm.run(*part);
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < count; ++i) {
    try {
      threads.emplace_back(compile, i);
    } catch (const std::system_error &) { // no thread to be had: compile it here
      compile(i);
    }
  }
  compile(0);
  for (std::thread &t : threads)
    t.join();
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> out;
  for (size_t i = 0; i < count; ++i) {
    if (!errors[i].empty())
      return err("cannot generate machine code: " + errors[i]);
    out.push_back(std::make_unique<llvm::SmallVectorMemoryBuffer>(
        std::move(objects[i]), "gradc-step-part" + std::to_string(i), false));
  }
  return out;
}

} // namespace

llvm::Expected<std::unique_ptr<rt::Executable>> compileGraph(const ir::Graph &g,
                                                             const CodegenOptions &opts) {
  using Clock = std::chrono::steady_clock;
  auto lap = [t = Clock::now()](double *into) mutable {
    auto now = Clock::now();
    if (into)
      *into += std::chrono::duration<double>(now - t).count();
    t = now;
  };
  CompileTimes *times = opts.times;

  if (auto e = checkTypesKnown(g))
    return e;
  ir::BufferLayout layout = ir::layoutBuffers(g);

  auto jtmb = hostTargetBuilder(opts.optLevel, opts.cpu);
  if (!jtmb)
    return jtmb.takeError();
  auto tm = jtmb->createTargetMachine();
  if (!tm)
    return tm.takeError();

  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto module = buildStepModule(g, layout, targetInfo(**tm), *ctx);
  if (!module)
    return module.takeError();
  lap(times ? &times->buildIR : nullptr);
  finishModule(**module, **tm, opts.optLevel);
  lap(times ? &times->optimize : nullptr);
  if (opts.llvmIROut) {
    opts.llvmIROut->clear();
    llvm::raw_string_ostream os(*opts.llvmIROut);
    (*module)->print(os, nullptr);
  }
  lap(nullptr); // printing is no phase of compiling

  unsigned parts = opts.compileThreads
                       ? opts.compileThreads
                       : std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  auto objects = emitObjects(std::move(*module), *jtmb, parts);
  if (!objects)
    return objects.takeError();
  if (times)
    times->objects = static_cast<unsigned>(objects->size());

  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit)
    return jit.takeError();
  if (perfMapRequested())
    addPerfMap(**jit);
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      (*jit)->getDataLayout().getGlobalPrefix());
  if (!gen)
    return gen.takeError();
  llvm::orc::JITDylib &dylib = (*jit)->getMainJITDylib();
  dylib.addGenerator(std::move(*gen));
  llvm::orc::SymbolMap runtime;
  runtime[(*jit)->mangleAndIntern(kParallelForName)] = llvm::orc::ExecutorSymbolDef(
      llvm::orc::ExecutorAddr::fromPtr(&::gradc_parallel_for),
      llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable);
  if (auto e = dylib.define(llvm::orc::absoluteSymbols(std::move(runtime))))
    return e;

  for (auto &object : *objects)
    if (auto e = (*jit)->addObjectFile(std::move(object)))
      return e;
  auto addr = (*jit)->lookup(kStepFunctionName);
  if (!addr)
    return addr.takeError();
  auto fn = addr->toPtr<StepFn>();
  lap(times ? &times->machineCode : nullptr);
  return std::make_unique<JitExecutable>(std::move(*jit), fn, std::move(layout.buffers));
}

} // namespace gradc::codegen
