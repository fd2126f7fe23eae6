//===- codegen/HostTarget.h - The host CPU as a target, and O3 for it -*- C++ -*-===//
#pragma once

#include "codegen/KernelEmitter.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

namespace gradc::codegen {

/// Initializes LLVM's native target, asm printer and parser; thread-safe and
/// idempotent.
void initializeNativeTarget();

/// A target machine builder for the host: its triple, CPU name and feature
/// set (so AVX-512 is used where the CPU has it), and the code generator
/// level matching `optLevel` (0-3). A non-empty `cpu` replaces the host CPU
/// and its features with that CPU's defaults; a CPU LLVM does not know is an
/// error. `positionIndependent` asks for PIC, which object files linked
/// into PIE executables need; it changes addressing only, never arithmetic.
llvm::Expected<llvm::orc::JITTargetMachineBuilder>
hostTargetBuilder(unsigned optLevel, const std::string &cpu, bool positionIndependent = false);

/// The vector shape explicit-vector kernels should use on `tm`'s CPU.
TargetInfo targetInfo(const llvm::TargetMachine &tm);

/// Gives `m` the target's triple and data layout, and every function
/// definition the target's CPU and features, so the optimizer's cost models
/// and the code generator see the same machine.
void targetModule(llvm::Module &m, llvm::TargetMachine &tm);

/// Runs the new pass manager's default per-module pipeline at `optLevel`
/// (0-3) with `tm`'s cost model: loop and SLP vectorization from -O2 on.
void optimizeModule(llvm::Module &m, llvm::TargetMachine &tm, unsigned optLevel);

/// What the JIT and AOT compilation share after building the module:
/// targetModule, then optimizeModule. Only the emission differs after it.
void finishModule(llvm::Module &m, llvm::TargetMachine &tm, unsigned optLevel);

} // namespace gradc::codegen
