//===- codegen/Jit.h - Compile a graph to native code ------------*- C++ -*-===//
//
// Lowers every node of a graph (types inferred) to LLVM IR loops, optimizes
// at O3 for the host CPU, and JIT-compiles it with ORC LLJIT. The result is an
// Executable over the buffer layout of ir/BufferLayout.h: one entry function
//   void gradc_step(void **buffers, int64_t batch)
// which runs every node in schedule order, then copies each param update into
// its param buffer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "runtime/Executable.h"

#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace gradc::codegen {

/// The phases of compileGraph: building the LLVM IR of every kernel, the
/// LLVM optimization pipeline, and machine code (instruction selection,
/// register allocation, linking in the JIT).
struct CompileTimes {
  double buildIR = 0, optimize = 0, machineCode = 0;
  /// The object files the last compile's machine code went into, each
  /// emitted on its own thread (CodegenOptions::compileThreads).
  unsigned objects = 0;
  double total() const { return buildIR + optimize + machineCode; }
};

struct CodegenOptions {
  unsigned optLevel = 3;
  /// If set, receives the optimized LLVM IR of the module as text.
  std::string *llvmIROut = nullptr;
  /// The CPU to generate code for; empty = the host's CPU and features. An
  /// older CPU of the host's family ("haswell": AVX2, "x86-64": SSE2) runs
  /// on the host too, which is how the tests cover the non-AVX-512 paths.
  std::string cpu;
  /// If set, the seconds (wall) of each phase are added to it.
  CompileTimes *times = nullptr;
  /// Threads for machine code generation: the optimized module is split
  /// into this many parts, each compiled on its own thread (Jit.cpp).
  /// 0 = the machine's cores (at most 8); 1 = one module, no split.
  unsigned compileThreads = 0;
};

/// Compiles `g`. The returned executable does not reference the graph.
llvm::Expected<std::unique_ptr<rt::Executable>> compileGraph(const ir::Graph &g,
                                                             const CodegenOptions &opts = {});

} // namespace gradc::codegen
