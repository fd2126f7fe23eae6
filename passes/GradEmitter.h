//===- passes/GradEmitter.h - What gradient rules build with ------*- C++ -*-===//
//
// Internal to passes/: the Emitter the gradient rules (GradRules.cpp and the
// per-family GradRules*.cpp files) use to build nodes as straight-line math,
// and the naming convention of gradient values.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "passes/GradRules.h"

namespace gradc::passes {

using Grads = llvm::SmallVector<ir::Value *, 3>;
using GradsOrErr = llvm::Expected<Grads>;

/// Creates nodes through a Builder and keeps the first error, so rules read
/// as straight-line math: once an error happened every later call returns
/// null and done() reports it.
class Emitter {
public:
  explicit Emitter(ir::Builder &b) : b_(b) {}

  ir::Value *op(ir::OpKind k, llvm::ArrayRef<ir::Value *> ins, ir::Attrs a = {},
                const std::string &name = "") {
    if (err_)
      return nullptr;
    if (llvm::is_contained(ins, nullptr))
      return nullptr;
    auto v = b_.create(k, ins, std::move(a), name);
    if (!v) {
      err_ = v.takeError();
      return nullptr;
    }
    return *v;
  }
  ir::Value *matmul(ir::Value *a, ir::Value *b, bool ta, bool tb, const std::string &name) {
    ir::Attrs at;
    if (ta)
      at.set("transpose_a", int64_t(1));
    if (tb)
      at.set("transpose_b", int64_t(1));
    return op(ir::OpKind::MatMul, {a, b}, std::move(at), name);
  }
  /// `v` reshaped to `shape` (kBatch is written -1, the reshape wildcard);
  /// `v` itself when it already has that shape.
  ir::Value *reshape(ir::Value *v, const Shape &shape, const std::string &name) {
    if (!v || v->type().shape == shape)
      return v;
    ir::Attrs a;
    a.set("shape", std::vector<int64_t>(shape.begin(), shape.end()));
    return op(ir::OpKind::Reshape, {v}, std::move(a), name);
  }
  ir::Value *unbroadcast(ir::Value *v, const Shape &to, const std::string &name) {
    if (err_ || !v)
      return nullptr;
    auto r = passes::unbroadcast(b_, v, to, name);
    if (!r) {
      err_ = r.takeError();
      return nullptr;
    }
    return *r;
  }
  /// A constant f32 scalar.
  ir::Value *scalar(double value, const std::string &name = "") {
    ir::Attrs a;
    a.set("value", value);
    return op(ir::OpKind::Constant, {}, std::move(a), name);
  }

  GradsOrErr done(Grads g) {
    if (err_)
      return std::move(err_);
    return g;
  }

private:
  ir::Builder &b_;
  llvm::Error err_ = llvm::Error::success();
};

/// The name of the gradient of input `i` of `n`.
inline std::string dName(const ir::Node &n, unsigned i) { return "d." + n.input(i)->name(); }
/// The name of an intermediate value on the way to dName(n, i).
inline std::string tName(const ir::Node &n, unsigned i) { return dName(n, i) + ".t"; }

} // namespace gradc::passes
