//===- codegen/Aot.h - A model as an object file and a C header --*- C++ -*-===//
//
// Ahead-of-time compilation (gradc compile): the inference and/or training
// step of a model, built by the same ModuleBuilder and optimized by the same
// HostTarget pipeline as the JIT's, plus exported C entry points
// (AotEntries.h), emitted as an object file, assembly or LLVM IR, together
// with a C99 header that documents and declares them (AotHeader.cpp). The
// object needs libc and libm only (and pthread with threads > 1):
// gradc_parallel_for is defined inside it. Nothing here touches files; the
// driver writes them.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"
#include "runtime/Session.h"

#include "llvm/Support/Error.h"

#include <string>

namespace gradc::codegen {

enum class AotEmit { Object, Assembly, LLVMIR };

struct AotOptions {
  /// Prefix of every exported symbol and macro: a C identifier.
  std::string prefix;
  /// The steps to compile (types inferred); at least one.
  const ir::Graph *infer = nullptr;
  const ir::Graph *train = nullptr;
  /// The CPU to generate code for; empty = the host's CPU and features.
  std::string cpu;
  AotEmit emit = AotEmit::Object;
  /// If set, the params to embed as constant data (every Param by name).
  const rt::ParamStore *embeddedParams = nullptr;
  /// For the header's comment: the model file and the command line.
  std::string source, commandLine;
  unsigned optLevel = 3;
  /// Threads a parallel loop uses: 1 = serial (no pthread); N > 1 = up to N
  /// (the caller and N-1 pthreads created per loop).
  unsigned threads = 1;
};

struct AotArtifact {
  std::string object; // the object file, assembly or LLVM IR text
  std::string header; // the C header
};

/// Compiles the steps of `o`. Errors name what cannot be compiled.
llvm::Expected<AotArtifact> compileAot(const AotOptions &o);

} // namespace gradc::codegen
