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

std::string kernelKey(const ir::Node &n,
                      llvm::function_ref<bool(unsigned, unsigned)> sameMemory) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << static_cast<int>(n.op()) << '{';
  for (const auto &[name, value] : n.attrs().all()) {
    os << name.size() << '"' << name << '=';
    writeAttr(os, value);
    os << ';';
  }
  os << "}(";
  for (const ir::Value *v : n.inputs())
    writeType(os, v->type());
  os << ")->(";
  for (const ir::Value *v : n.results())
    writeType(os, v->type());
  os << ')';
  for (unsigned i = 0; i < n.inputs().size(); ++i)
    for (unsigned r = 0; r < n.results().size(); ++r)
      if (sameMemory(i, r))
        os << " in" << i << '=' << r;
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
