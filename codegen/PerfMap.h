//===- codegen/PerfMap.h - Name JIT code for perf ----------------*- C++ -*-===//
//
// With GRADC_PERF_MAP=1 in the environment, every function the JIT links
// (the step and each kernel) is appended to /tmp/perf-<pid>.map as
// "address size name", the format `perf report` reads for code it finds no
// object file for. So
//   GRADC_PERF_MAP=1 perf record -g gradc bench MODEL --threads 1
//   perf report
// shows the time of each kernel under its name (gradc_kernel_<node>...).
//
//===----------------------------------------------------------------------===//
#pragma once

namespace llvm::orc {
class LLJIT;
}

namespace gradc::codegen {

/// True when GRADC_PERF_MAP is set to something other than "" or "0".
bool perfMapRequested();

/// Makes `jit`'s linker append the functions of every module it links to
/// /tmp/perf-<pid>.map. Does nothing if the JIT does not link with JITLink.
void addPerfMap(llvm::orc::LLJIT &jit);

} // namespace gradc::codegen
