//===- codegen/AotHeader.cpp - The C header of an AOT object --------------===//
//
// Writes the header that declares and documents an object's entry points
// (AotEntries.cpp): plain C99 (and C++: extern "C"), macros only (a static
// const table would warn as unused in C with -Wall), every number a size_t
// or int64_t expression, so it compiles warning-free with -Wall -Wextra
// -pedantic as C and as C++.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"
#include "codegen/AotEntries.h"
#include "codegen/AotLayout.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

namespace gradc::codegen {

namespace {

const char *cType(DType dt) { return dt == DType::I32 ? "int32_t" : "float"; }

/// "f32[batch, 784]"
std::string typeText(DType dt, const Shape &s) {
  std::string out = std::string(dtypeName(dt)) + "[";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + (s[i] == kBatch ? std::string("batch") : std::to_string(s[i]));
  return out + "]";
}

/// "{784, 256}" ("{0}" for a scalar: C has no empty initializer).
std::string shapeInit(const Shape &s) {
  if (s.empty())
    return "{0}";
  std::string out = "{";
  for (size_t i = 0; i < s.size(); ++i)
    out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "}";
}

/// "((size_t)784 * (size_t)(batch))" or "((size_t)10)": element count.
std::string numelExpr(const Shape &s) {
  int64_t fixed = 1;
  bool batch = false;
  for (int64_t d : s) {
    if (d == kBatch)
      batch = true;
    else
      fixed *= d;
  }
  return batch ? llvm::formatv("((size_t){0} * (size_t)(batch))", fixed).str()
               : llvm::formatv("((size_t){0})", fixed).str();
}

std::string initText(const rt::InitSpec &i) {
  if (i.kind == "constant")
    return llvm::formatv("constant {0}", i.value).str();
  if (i.kind == "normal")
    return llvm::formatv("normal mean {0} std {1}", i.mean, i.std).str();
  if (i.kind == "uniform")
    return llvm::formatv("uniform [{0}, {1})", i.low, i.high).str();
  return i.kind;
}

void tensorMacros(llvm::raw_ostream &os, const std::string &P, const char *kind,
                  const AotTensor &t) {
  std::string m = P + "_" + kind + "_" + llvm::StringRef(t.cName).upper();
  os << "/* " << t.name << ": " << typeText(t.dtype, t.shape) << " (" << cType(t.dtype)
     << "), init " << initText(t.init) << " */\n";
  os << "#define " << m << "_OFFSET ((size_t)" << t.offset << ")\n";
  os << "#define " << m << "_NUMEL ((size_t)" << t.numel << ")\n";
  os << "#define " << m << "_RANK " << t.shape.size() << "\n";
  os << "#define " << m << "_SHAPE " << shapeInit(t.shape) << "\n";
}

void arrayDoc(llvm::raw_ostream &os, const AotArray &a, bool out) {
  os << " *   " << a.cName << ": " << (out ? "" : "const ") << cType(a.dtype) << " *, "
     << typeText(a.dtype, a.shape) << ", row-major"
     << (a.name != a.cName ? " (model value '" + a.name + "')" : std::string()) << "\n";
}

std::string arrayParams(const std::vector<AotArray> &arrays, bool out) {
  std::string s;
  for (const AotArray &a : arrays)
    s += std::string(",\n    ") + (out ? "" : "const ") + cType(a.dtype) + " *" + a.cName;
  return s;
}

/// True when an entry takes an int32 array (labels).
bool hasIntInput(const AotLayout &l) {
  for (const AotEntry *e : {l.infer.get(), l.train.get()})
    if (e)
      for (const AotArray &a : e->inputs)
        if (a.dtype == DType::I32)
          return true;
  return false;
}

} // namespace

std::string aotHeader(const AotLayout &l, const AotOptions &o, const std::string &cpu) {
  const std::string &p = o.prefix;
  const std::string P = llvm::StringRef(p).upper();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "/* " << p << ".h: the C API of an object compiled by gradc. Do not edit.\n"
     << " *\n"
     << " *   model:      " << o.source << "\n"
     << " *   command:    " << o.commandLine << "\n"
     << " *   target CPU: " << (cpu.empty() ? "generic" : cpu)
     << (o.cpu.empty() ? " (the compiling host's CPU and features)" : "") << "\n"
     << (o.threads > 1
             ? " *   threads:    up to " + std::to_string(o.threads) +
                   " per parallel loop (the caller and pthreads it creates)\n"
                   " *\n"
                   " * Link: cc -std=c99 prog.c <object> -lm -lpthread   (libc, libm, pthread)\n"
             : std::string(" *   threads:    none (kernels run on the calling thread)\n"
                           " *\n"
                           " * Link: cc -std=c99 prog.c <object> -lm   (the object needs libc "
                           "and libm only)\n"))
     << " *\n"
     << " * ABI rules (docs/AOT.md):\n"
     << " *   - All state lives in caller-owned buffers; the object has no mutable\n"
     << " *     global or static data. Calls with distinct workspaces (and, for\n"
     << " *     training, distinct params/opt_state) may run concurrently.\n"
     << " *   - params, opt_state and workspace must be " << P << "_ALIGNMENT-byte aligned\n"
     << " *     (C11 aligned_alloc, posix_memalign); input and output arrays need\n"
     << " *     only their element type's alignment and may not overlap workspace.\n"
     << " *   - Arrays are dense and row-major; `batch` is the leading dimension N.\n"
     << " *   - Functions return " << P << "_OK (0) or an error code and write\n"
     << " *     nothing when they return an error.\n"
     << (hasIntInput(l) ? " *   - Labels (int32) outside [0, classes) give an unspecified loss but\n"
                          " *     never an out-of-bounds access.\n"
                        : "")
     << " */\n"
     << "#ifndef " << P << "_H\n#define " << P << "_H\n\n"
     << "#include <stddef.h>\n#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";

  os << "/* The ABI version of this header; " << p << "_abi_version() returns the object's. */\n"
     << "#define " << P << "_ABI_VERSION " << kAotAbiVersion << "\n"
     << "int " << p << "_abi_version(void);\n\n";

  os << "/* Status codes. */\n"
     << "#define " << P << "_OK " << kAotOk << "\n"
     << "#define " << P << "_ERR_NULL_POINTER " << kAotNullPointer
     << " /* a required pointer is NULL */\n"
     << "#define " << P << "_ERR_ALIGNMENT " << kAotMisaligned << " /* params, opt_state or "
     << "workspace not " << P << "_ALIGNMENT-aligned */\n"
     << "#define " << P << "_ERR_BATCH " << kAotBadBatch << " /* batch < 1 or batch > " << P
     << "_MAX_BATCH */\n"
     << "#define " << P << "_ERR_STEP " << kAotBadStep << " /* training step < 1 */\n\n"
     << "#define " << P << "_ALIGNMENT " << kAotAlignment << "\n";
  os << "#define " << P << "_MAX_BATCH ((int64_t)" << (l.infer ? l.infer : l.train)->maxBatch
     << ")\n\n";

  os << "/* Params: one buffer of " << P << "_PARAMS_SIZE bytes holding " << l.params.size()
     << " tensors,\n * each at its _OFFSET (bytes) with _NUMEL elements, row-major. */\n"
     << "#define " << P << "_PARAMS_SIZE ((size_t)" << l.paramsBytes << ")\n"
     << "#define " << P << "_PARAM_COUNT " << l.params.size() << "\n";
  for (const AotTensor &t : l.params)
    tensorMacros(os, P, "PARAM", t);
  os << "\n/* Fills params (" << P << "_PARAMS_SIZE bytes, aligned) from the model's\n"
     << " * initializers: the values gradc train starts from for the same seed. */\n"
     << "int " << p << "_init_params(void *params, uint64_t seed);\n";
  if (o.embeddedParams)
    os << "\n/* The params embedded at compile time (" << P << "_PARAMS_SIZE bytes,\n"
       << " * read-only): pass to " << p << "_infer, or copy to train further. */\n"
       << "#define " << P << "_HAS_EMBEDDED_PARAMS 1\n"
       << "const void *" << p << "_embedded_params(void);\n";
  os << "\n";

  if (l.infer) {
    const AotEntry &e = *l.infer;
    os << "/* Inference workspace: " << P << "_INFER_WORKSPACE_SIZE(batch) bytes, aligned. */\n"
       << "#define " << P << "_INFER_WORKSPACE_SIZE(batch) ((size_t)" << e.workspaceFixed
       << " + (size_t)" << e.workspacePerSample << " * (size_t)(batch))\n";
    os << "/* Inference: the model's outputs for `batch` samples.\n";
    for (const AotArray &a : e.inputs)
      arrayDoc(os, a, false);
    for (const AotArray &a : e.outputs)
      arrayDoc(os, a, true);
    os << " * Errors: " << P << "_ERR_NULL_POINTER, " << P << "_ERR_ALIGNMENT, " << P
       << "_ERR_BATCH. */\n"
       << "int " << p << "_infer(const void *params, void *workspace, int64_t batch"
       << arrayParams(e.inputs, false) << arrayParams(e.outputs, true) << ");\n\n";
  }

  if (l.train) {
    const AotEntry &e = *l.train;
    os << "/* Optimizer state (" << o.train->training.optimizer << "): one buffer of " << P
       << "_OPT_STATE_SIZE bytes, zero-filled\n"
       << " * before the first step (NULL is allowed when the size is 0). */\n"
       << "#define " << P << "_OPT_STATE_SIZE ((size_t)" << l.optStateBytes << ")\n"
       << "#define " << P << "_OPT_STATE_COUNT " << l.optState.size() << "\n";
    for (const AotTensor &t : l.optState)
      tensorMacros(os, P, "STATE", t);
    os << "\n/* Training workspace: " << P << "_TRAIN_WORKSPACE_SIZE(batch) bytes, aligned. */\n"
       << "#define " << P << "_TRAIN_WORKSPACE_SIZE(batch) ((size_t)" << e.workspaceFixed
       << " + (size_t)" << e.workspacePerSample << " * (size_t)(batch))\n";
    os << "/* One training step on `batch` samples: forward, backward and the\n"
       << " * optimizer's update, written into params and opt_state in place.\n";
    for (const AotArray &a : e.inputs)
      arrayDoc(os, a, false);
    os << " *   lr: the learning rate; step: this step's number, counting from 1\n"
       << " *     (step-dependent factors such as Adam's bias corrections are\n"
       << " *     computed from it in double, as gradc train does)\n"
       << " *   loss: receives the step's loss (computed before the update); may be NULL\n"
       << " * Errors: " << P << "_ERR_NULL_POINTER, " << P << "_ERR_ALIGNMENT, " << P
       << "_ERR_BATCH, " << P << "_ERR_STEP. */\n"
       << "int " << p << "_train_step(void *params, void *opt_state, void *workspace, "
       << "int64_t batch" << arrayParams(e.inputs, false)
       << ",\n    double lr, int64_t step, float *loss);\n\n";
  }

  // Element counts of every array, by name (inputs shared by both steps once).
  llvm::StringSet<> seen;
  std::string counts;
  for (const AotEntry *e : {l.infer.get(), l.train.get()}) {
    if (!e)
      continue;
    for (const auto *list : {&e->inputs, &e->outputs})
      for (const AotArray &a : *list)
        if (seen.insert(a.cName).second)
          counts += "#define " + P + "_" + llvm::StringRef(a.cName).upper() + "_NUMEL(batch) " +
                    numelExpr(a.shape) + "\n";
  }
  if (!counts.empty())
    os << "/* Elements of each input and output array for `batch` samples. */\n" << counts << "\n";

  os << "#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* " << P << "_H */\n";
  os.flush();
  return text;
}

} // namespace gradc::codegen
