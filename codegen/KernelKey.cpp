//===- codegen/KernelKey.cpp - When two nodes can share one kernel --------===//
//
// The key is a byte string: the op, then each attribute as name and value
// (doubles by their bits, so 0.1 and the next double apart never meet), then
// each input's and result's type, then the in-place pairs. Lowerings must
// read nothing else of the node (its names and location serve only
// diagnostics); a lowering that starts to read more must add it here.
//
//===----------------------------------------------------------------------===//
#include "codegen/KernelKey.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/raw_ostream.h"

#include <variant>

namespace gradc::codegen {

namespace {

void writeType(llvm::raw_string_ostream &os, const TensorType &t) {
  os << static_cast<int>(t.known) << static_cast<int>(t.dtype) << '[';
  for (int64_t d : t.shape)
    os << d << ',';
  os << ']';
}

void writeAttr(llvm::raw_string_ostream &os, const ir::AttrValue &v) {
  os << v.index() << ':';
  if (auto *i = std::get_if<int64_t>(&v))
    os << *i;
  else if (auto *d = std::get_if<double>(&v))
    os << llvm::bit_cast<uint64_t>(*d);
  else if (auto *s = std::get_if<std::string>(&v))
    os << s->size() << '"' << *s;
  else if (auto *is = std::get_if<std::vector<int64_t>>(&v)) {
    os << is->size() << '[';
    for (int64_t x : *is)
      os << x << ',';
  } else if (auto *ds = std::get_if<std::vector<double>>(&v)) {
    os << ds->size() << '[';
    for (double x : *ds)
      os << llvm::bit_cast<uint64_t>(x) << ',';
  }
}

} // namespace

namespace {

/// The op, attributes and types of `n`, each value's type as `typeOf` gives it.
void writeNode(llvm::raw_string_ostream &os, const ir::Node &n,
               llvm::function_ref<TensorType(const ir::Value *)> typeOf) {
  os << static_cast<int>(n.op()) << '{';
  for (const auto &[name, value] : n.attrs().all()) {
    os << name.size() << '"' << name << '=';
    writeAttr(os, value);
    os << ';';
  }
  os << "}(";
  for (const ir::Value *v : n.inputs())
    writeType(os, typeOf(v));
  os << ")->(";
  for (const ir::Value *v : n.results())
    writeType(os, typeOf(v));
  os << ')';
}

} // namespace

std::string kernelKey(const ir::Node &n,
                      llvm::function_ref<bool(unsigned, unsigned)> sameMemory) {
  std::string key;
  llvm::raw_string_ostream os(key);
  writeNode(os, n, [](const ir::Value *v) { return v->type(); });
  for (unsigned i = 0; i < n.inputs().size(); ++i)
    for (unsigned r = 0; r < n.results().size(); ++r)
      if (sameMemory(i, r))
        os << " in" << i << '=' << r;
  return key;
}

std::string groupKernelKey(const ir::FusionGroup &grp, llvm::ArrayRef<const ir::Value *> ins,
                           llvm::function_ref<TensorType(const ir::Value *)> typeOf,
                           llvm::function_ref<bool(unsigned, unsigned)> sameMemory) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << "group " << (grp.head ? 'H' : 'M') << ins.size() << ',' << grp.outputs.size() << ':';
  // The arguments: each one's type, and which earlier argument holds the same
  // value (a head's operand that its maps read too).
  auto argOf = [&](const ir::Value *v) -> int {
    auto it = llvm::find(ins, v);
    return it == ins.end() ? -1 : static_cast<int>(it - ins.begin());
  };
  for (unsigned a = 0; a < ins.size(); ++a) {
    writeType(os, typeOf(ins[a]));
    os << '=' << argOf(ins[a]) << ';';
  }
  // The members in order, each with its operands: a member result (by
  // member and result index) or an argument.
  llvm::DenseMap<const ir::Value *, std::pair<unsigned, unsigned>> producer;
  for (unsigned m = 0; m < grp.members.size(); ++m) {
    const ir::Node &n = *grp.members[m];
    os << '|';
    writeNode(os, n, typeOf);
    os << '<';
    for (const ir::Value *v : n.inputs()) {
      auto it = producer.find(v);
      if (it != producer.end())
        os << 'm' << it->second.first << '.' << it->second.second << ',';
      else
        os << 'a' << argOf(v) << ',';
    }
    os << '>';
    for (unsigned r = 0; r < n.results().size(); ++r)
      producer[n.result(r)] = {m, r};
  }
  // The outputs: which member result each one stores.
  os << "|out";
  for (const ir::Value *o : grp.outputs) {
    auto [m, r] = producer.lookup(o);
    os << ' ' << m << '.' << r;
  }
  // Arguments in the same memory (in-place results lose noalias).
  size_t nargs = ins.size() + grp.outputs.size();
  for (unsigned a = 0; a < nargs; ++a)
    for (unsigned b = a + 1; b < nargs; ++b)
      if (sameMemory(a, b))
        os << " mem" << a << '=' << b;
  return key;
}

std::optional<FlatMap> flatMapNode(const ir::Node &n) {
  ir::OpClass c = n.info().opClass;
  if ((c != ir::OpClass::Elementwise && c != ir::OpClass::Broadcast) ||
      n.op() == ir::OpKind::Dropout || n.op() == ir::OpKind::DropoutTrain ||
      n.results().size() != 1)
    return std::nullopt;
  const TensorType &out = n.result()->type();
  if (!out.known || out.dtype != DType::F32 || out.shape.empty())
    return std::nullopt;
  auto single = [](const TensorType &t) {
    for (int64_t d : t.shape)
      if (d != 1)
        return false;
    return true;
  };
  for (const ir::Value *v : n.inputs())
    if (!v->type().known || v->type().dtype != DType::F32 ||
        (v->type().shape != out.shape && !single(v->type())))
      return std::nullopt;

  FlatMap f;
  f.graph = std::make_unique<ir::Graph>();
  llvm::SmallVector<ir::Value *, 3> ins;
  for (unsigned i = 0; i < n.inputs().size(); ++i) {
    const TensorType &t = n.input(i)->type();
    Shape s = t.shape == out.shape ? Shape{kBatch} : Shape{};
    ins.push_back(f.graph->addInput("in" + std::to_string(i), TensorType(DType::F32, s)));
  }
  ir::Node *node = f.graph->addNode(n.op(), ins, n.attrs(), {"out"});
  node->result()->setType(TensorType(DType::F32, {kBatch}));
  f.node = node;
  return f;
}

} // namespace gradc::codegen
