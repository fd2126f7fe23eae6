//===- tests/numeric/NumericUtil.h - Helpers for numeric tests ----*- C++ -*-===//
//
// Shared by the numeric tests (interpreter, gradient checks, JIT vs
// interpreter). Header-only, everything in gradc::test:
//
//   - tensorOf / labelsOf:       small tensors from literal values;
//   - TensorRng:                 seeded random tensors (uniform, away from
//                                zero for kinks and poles, class labels);
//   - GraphMaker:                builds typed graphs tersely (inputs, params,
//                                nodes with shapes inferred at once), attrs();
//   - BoundBuffers:              one zeroed tensor per buffer of an
//                                Executable for a batch, get/set by name, run;
//   - ExecutableFactory:         how a test turns a graph into an Executable
//                                (interpreterFactory(); the JIT tests pass
//                                codegen::compileGraph the same way);
//   - runOneOp:                  runs one op on given operands, returns its
//                                result tensor;
//   - allClose / maxAbsDiff:     comparisons with |a - e| <= atol + rtol*|e|
//                                that report the first offending element.
//
// A shape in a graph may contain kBatch (N); tensors always have concrete
// shapes (N bound to the batch the test runs with).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "interp/Interpreter.h"
#include "ir/BufferLayout.h"
#include "ir/Graph.h"
#include "runtime/Executable.h"
#include "runtime/Tensor.h"
#include "tests/TestUtil.h"

#include "llvm/ADT/StringRef.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace gradc::test {

// ---- Literal tensors ------------------------------------------------------------

/// An f32 tensor of a concrete `shape` holding `values` (row-major).
inline rt::Tensor tensorOf(Shape shape, const std::vector<float> &values) {
  rt::Tensor t(DType::F32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size()) << "tensorOf: wrong count";
  std::memcpy(t.data(), values.data(),
              std::min(values.size(), static_cast<size_t>(t.numel())) * sizeof(float));
  return t;
}

/// An i32 tensor of a concrete `shape` holding `values` (row-major).
inline rt::Tensor labelsOf(Shape shape, const std::vector<int32_t> &values) {
  rt::Tensor t(DType::I32, std::move(shape));
  EXPECT_EQ(static_cast<size_t>(t.numel()), values.size()) << "labelsOf: wrong count";
  std::memcpy(t.data(), values.data(),
              std::min(values.size(), static_cast<size_t>(t.numel())) * sizeof(int32_t));
  return t;
}

/// The elements of an f32 tensor, for EXPECT_THAT-style checks and printing.
inline std::vector<float> valuesOf(const rt::Tensor &t) {
  assert(t.dtype() == DType::F32 && "valuesOf reads f32 tensors");
  return std::vector<float>(t.f32(), t.f32() + t.numel());
}

// ---- Random tensors -------------------------------------------------------------

/// Deterministic random tensors: the same seed gives the same values on every
/// machine (std::mt19937_64 and our own mapping to floats, not std::
/// distributions, whose output is implementation-defined).
class TensorRng {
public:
  explicit TensorRng(uint64_t seed) : gen_(seed) {}

  /// A double uniform in [lo, hi).
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * (double(gen_() >> 11) * 0x1.0p-53);
  }

  /// Elements uniform in [lo, hi).
  rt::Tensor uniform(const Shape &shape, float lo, float hi) {
    rt::Tensor t(DType::F32, shape);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.f32()[i] = static_cast<float>(uniform(lo, hi));
    return t;
  }

  /// Elements with |x| uniform in [minAbs, maxAbs) and a random sign: keeps
  /// values (and finite-difference steps smaller than minAbs) off a kink at 0.
  rt::Tensor awayFromZero(const Shape &shape, float minAbs, float maxAbs) {
    rt::Tensor t(DType::F32, shape);
    for (int64_t i = 0; i < t.numel(); ++i) {
      double m = uniform(minAbs, maxAbs);
      t.f32()[i] = static_cast<float>((gen_() & 1) ? m : -m);
    }
    return t;
  }

  /// i32 class labels uniform in [0, classes).
  rt::Tensor labels(const Shape &shape, int32_t classes) {
    rt::Tensor t(DType::I32, shape);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.i32()[i] = static_cast<int32_t>(gen_() % static_cast<uint64_t>(classes));
    return t;
  }

private:
  std::mt19937_64 gen_;
};

// ---- Graphs ---------------------------------------------------------------------

inline TensorType f32Type(Shape s) { return TensorType(DType::F32, std::move(s)); }
inline TensorType i32Type(Shape s) { return TensorType(DType::I32, std::move(s)); }

/// Attributes from a list: attrs({{"axis", int64_t(0)}, {"perm", Ints{1, 0}}}).
using Ints = std::vector<int64_t>;
inline ir::Attrs attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> list) {
  ir::Attrs a;
  for (const auto &[name, value] : list)
    a.set(name, value);
  return a;
}

/// Builds a typed graph: every node's result type is inferred as it is
/// added, and a shape error fails the current test.
class GraphMaker {
public:
  GraphMaker() { g_.name = "test"; }

  ir::Graph &graph() { return g_; }
  ir::Value *input(const std::string &name, TensorType t,
                   ir::InputRole role = ir::InputRole::Data) {
    return g_.addInput(name, std::move(t), role);
  }
  ir::Value *param(const std::string &name, TensorType t, bool trainable = true) {
    return g_.addParam(name, std::move(t), {}, trainable);
  }
  /// Adds a node; null (after a test failure) when its shape rule rejects it.
  ir::Value *op(ir::OpKind k, std::vector<ir::Value *> ins, ir::Attrs a = {},
                const std::string &name = "") {
    auto v = tryOp(k, std::move(ins), std::move(a), name);
    if (!v) {
      ADD_FAILURE() << llvm::toString(v.takeError());
      return nullptr;
    }
    return *v;
  }
  /// Adds a node and returns its shape rule's error, if any.
  llvm::Expected<ir::Value *> tryOp(ir::OpKind k, std::vector<ir::Value *> ins,
                                    ir::Attrs a = {}, const std::string &name = "") {
    std::vector<std::string> names;
    if (!name.empty())
      names.push_back(name);
    ir::Node *n = g_.addNode(k, ins, std::move(a), names);
    if (llvm::Error e = ir::inferNodeShape(*n, g_))
      return e;
    return n->result();
  }

private:
  ir::Graph g_;
};

// ---- Executables and their buffers ----------------------------------------------

/// Turns a graph (types inferred) into an Executable: the interpreter, or the
/// JIT (codegen::compileGraph). The graph outlives the Executable.
using ExecutableFactory =
    std::function<llvm::Expected<std::unique_ptr<rt::Executable>>(const ir::Graph &)>;

inline ExecutableFactory interpreterFactory() {
  return [](const ir::Graph &g) -> llvm::Expected<std::unique_ptr<rt::Executable>> {
    return interp::makeInterpreter(g);
  };
}

/// Storage for every buffer of an Executable at one batch size: zeroed
/// tensors, addressed by buffer name (the IR value's name).
class BoundBuffers {
public:
  BoundBuffers(rt::Executable &exe, int64_t batch) : exe_(&exe), batch_(batch) {
    for (const rt::BufferDesc &d : exe.buffers())
      tensors_.emplace_back(d.dtype, bindBatch(d.shape, batch));
  }

  int64_t batch() const { return batch_; }
  const std::vector<rt::BufferDesc> &descs() const { return exe_->buffers(); }
  /// The tensor of buffer `name`, or null.
  rt::Tensor *find(llvm::StringRef name) {
    for (size_t i = 0; i < tensors_.size(); ++i)
      if (descs()[i].name == name)
        return &tensors_[i];
    return nullptr;
  }
  /// The tensor of buffer `name`; a missing buffer aborts the test.
  rt::Tensor &get(llvm::StringRef name) {
    rt::Tensor *t = find(name);
    if (!t) {
      ADD_FAILURE() << "no buffer named '" << name.str() << "'";
      std::abort();
    }
    return *t;
  }
  /// Copies `value` into buffer `name`, which must have its dtype and shape.
  void set(llvm::StringRef name, const rt::Tensor &value) {
    rt::Tensor &t = get(name);
    if (t.dtype() != value.dtype() || t.shape() != value.shape()) {
      ADD_FAILURE() << "buffer '" << name.str() << "' is " << dtypeName(t.dtype())
                    << shapeToString(t.shape()) << ", got " << dtypeName(value.dtype())
                    << shapeToString(value.shape());
      return;
    }
    if (t.bytes())
      std::memcpy(t.data(), value.data(), t.bytes());
  }
  std::vector<rt::Tensor> &tensors() { return tensors_; }

  /// Runs one step of the executable over these buffers.
  llvm::Error run() {
    std::vector<void *> ptrs;
    for (rt::Tensor &t : tensors_)
      ptrs.push_back(t.data());
    return exe_->run(ptrs.data(), batch_);
  }

private:
  rt::Executable *exe_;
  int64_t batch_;
  std::vector<rt::Tensor> tensors_;
};

/// One operand of runOneOp: its declared type (may contain N) and its value
/// (that type with N bound to the batch).
struct Operand {
  TensorType type;
  rt::Tensor value;
};
inline Operand operand(Shape declared, rt::Tensor value) {
  return Operand{TensorType(value.dtype(), std::move(declared)), std::move(value)};
}
/// An operand whose declared shape is the value's own (no N).
inline Operand operand(rt::Tensor value) {
  Shape s = value.shape();
  return operand(std::move(s), std::move(value));
}

/// The name runOneOp gives operand `i`: "x0", "x1", ...
inline std::string operandName(size_t i) {
  std::string s = "x"; // appended, not "x" + ..., which trips GCC 12's -Wrestrict
  s += std::to_string(i);
  return s;
}

/// Builds `y = op(x0, x1, ...)` with every operand a graph input, runs it
/// once with `batch` on the executable `make` builds, and returns y.
inline llvm::Expected<rt::Tensor> runOneOp(ir::OpKind op, std::vector<Operand> operands,
                                           ir::Attrs a = {}, int64_t batch = 1,
                                           const ExecutableFactory &make =
                                               interpreterFactory()) {
  GraphMaker gm;
  std::vector<ir::Value *> ins;
  for (size_t i = 0; i < operands.size(); ++i)
    ins.push_back(gm.input(operandName(i), operands[i].type));
  auto y = gm.tryOp(op, ins, std::move(a), "y");
  if (!y)
    return y.takeError();
  gm.graph().outputs.push_back(*y);
  auto exe = make(gm.graph());
  if (!exe)
    return exe.takeError();
  BoundBuffers bufs(**exe, batch);
  for (size_t i = 0; i < operands.size(); ++i)
    bufs.set(operandName(i), operands[i].value);
  if (llvm::Error e = bufs.run())
    return e;
  return rt::Tensor(bufs.get("y"));
}

// ---- Comparisons ----------------------------------------------------------------

/// Largest |actual - expected| over all elements (f32 tensors of one shape);
/// infinity when the shapes differ or a NaN is on one side only.
inline double maxAbsDiff(const rt::Tensor &actual, const rt::Tensor &expected) {
  if (actual.shape() != expected.shape())
    return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.f32()[i], e = expected.f32()[i];
    if (std::isnan(a) || std::isnan(e)) {
      if (std::isnan(a) != std::isnan(e))
        return INFINITY;
      continue;
    }
    if (a != e) // equal infinities are no difference
      worst = std::max(worst, std::fabs(a - e));
  }
  return worst;
}

/// Every element satisfies |a - e| <= atol + rtol*|e| (NaN matches NaN, an
/// infinity matches the same infinity). The failure message names the first
/// offending element, its index and the number of mismatches.
inline ::testing::AssertionResult allClose(const rt::Tensor &actual,
                                           const rt::Tensor &expected, double rtol,
                                           double atol) {
  if (actual.dtype() != DType::F32 || expected.dtype() != DType::F32)
    return ::testing::AssertionFailure() << "allClose compares f32 tensors";
  if (actual.shape() != expected.shape())
    return ::testing::AssertionFailure()
           << "shape " << shapeToString(actual.shape()) << " vs expected "
           << shapeToString(expected.shape());
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    double a = actual.f32()[i], e = expected.f32()[i];
    bool ok = (std::isnan(a) && std::isnan(e)) || a == e ||
              std::fabs(a - e) <= atol + rtol * std::fabs(e);
    if (!ok && bad++ == 0)
      first = i;
  }
  if (!bad)
    return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(9);
  os << bad << " of " << actual.numel() << " elements differ (rtol " << rtol << ", atol "
     << atol << "); first at flat index " << first << ": " << actual.f32()[first]
     << " vs expected " << expected.f32()[first];
  return ::testing::AssertionFailure() << os.str();
}

/// allClose against literal values of the same shape.
inline ::testing::AssertionResult allClose(const rt::Tensor &actual,
                                           const std::vector<float> &expected,
                                           double rtol = 1e-6, double atol = 1e-6) {
  if (static_cast<size_t>(actual.numel()) != expected.size())
    return ::testing::AssertionFailure() << actual.numel() << " elements, expected "
                                         << expected.size();
  return allClose(actual, tensorOf(actual.shape(), expected), rtol, atol);
}

} // namespace gradc::test
