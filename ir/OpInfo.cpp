//===- ir/OpInfo.cpp - The op table: names, attributes, shape rules -------===//
#include "ir/OpInfo.h"

#include "ir/Graph.h"
#include "ir/OpInfoSeq.h"
#include "ir/ShapeRules.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"

namespace gradc::ir {

namespace {
// Attribute schemas, one per op that has attributes.
constexpr AttrSpec kNoAttrs[] = {{"", AttrKind::Int, false}};
constexpr AttrSpec kMatMulAttrs[] = {{"transpose_a", AttrKind::Int, false},
                                     {"transpose_b", AttrKind::Int, false}};
constexpr AttrSpec kAxisAttrs[] = {{"axis", AttrKind::Int, false}};
constexpr AttrSpec kReduceAttrs[] = {{"axes", AttrKind::Ints, false},
                                     {"keepdims", AttrKind::Int, false}};
constexpr AttrSpec kAxesAttrs[] = {{"axes", AttrKind::Ints, false}};
constexpr AttrSpec kShapeAttrs[] = {{"shape", AttrKind::Ints, true}};
constexpr AttrSpec kConstantAttrs[] = {{"value", AttrKind::Float, false},
                                       {"shape", AttrKind::Ints, false}};
constexpr AttrSpec kPermAttrs[] = {{"perm", AttrKind::Ints, false}};
// Vision ops: [h, w] pairs, or one int for both (ir/Vision.h).
constexpr AttrSpec kConvAttrs[] = {{"stride", AttrKind::Ints, false, true},
                                   {"padding", AttrKind::Ints, false, true},
                                   {"dilation", AttrKind::Ints, false, true},
                                   {"groups", AttrKind::Int, false}};
constexpr AttrSpec kBatchNormAttrs[] = {{"eps", AttrKind::Float, false},
                                        {"momentum", AttrKind::Float, false}};
constexpr AttrSpec kDropoutAttrs[] = {{"p", AttrKind::Float, false},
                                      {"seed", AttrKind::Int, false}};
constexpr AttrSpec kPoolAttrs[] = {{"kernel", AttrKind::Ints, true, true},
                                   {"stride", AttrKind::Ints, false, true},
                                   {"padding", AttrKind::Ints, false, true}};

llvm::ArrayRef<AttrSpec> attrsOf(OpKind k) {
  if (auto seq = seqOpAttrs(k))
    return *seq;
  switch (k) {
  case OpKind::MatMul:
    return kMatMulAttrs;
  case OpKind::Softmax:
  case OpKind::LogSoftmax:
  case OpKind::SoftmaxGrad:
  case OpKind::LogSoftmaxGrad:
    return kAxisAttrs;
  case OpKind::ReduceSum:
  case OpKind::ReduceMean:
    return kReduceAttrs;
  case OpKind::Numel:
    return kAxesAttrs;
  case OpKind::Reshape:
  case OpKind::BroadcastTo:
    return kShapeAttrs;
  case OpKind::Transpose:
    return kPermAttrs;
  case OpKind::Constant:
    return kConstantAttrs;
  // Vision ops.
  case OpKind::Conv2d:
  case OpKind::Conv2dGradInput:
  case OpKind::Conv2dGradWeight:
    return kConvAttrs;
  case OpKind::MaxPool2d:
  case OpKind::MaxPool2dGrad:
  case OpKind::AvgPool2d:
  case OpKind::AvgPool2dGrad:
    return kPoolAttrs;
  case OpKind::BatchNorm:
  case OpKind::BatchNormTrain:
  case OpKind::BatchNormTrainGrad:
  case OpKind::BatchNormGradGamma:
    return kBatchNormAttrs;
  case OpKind::Dropout:
  case OpKind::DropoutTrain:
    return kDropoutAttrs;
  default:
    return llvm::ArrayRef<AttrSpec>(kNoAttrs).drop_front();
  }
}

std::vector<OpInfo> buildTable() {
  std::vector<OpInfo> t;
#define OP(Enum, Name, NumInputs, Class, Flags)                                \
  t.push_back(OpInfo{OpKind::Enum, Name, NumInputs, OpClass::Class, Flags,      \
                     attrsOf(OpKind::Enum), &shapeRule##Enum});
#include "ir/Ops.def"
  return t;
}

const std::vector<OpInfo> &table() {
  static const std::vector<OpInfo> t = buildTable();
  return t;
}
} // namespace

const AttrSpec *OpInfo::findAttr(llvm::StringRef n) const {
  for (const AttrSpec &a : attrs)
    if (n == a.name)
      return &a;
  return nullptr;
}

std::string OpInfo::arityText() const {
  if (numInputs == kVariadic)
    return "1 or more";
  std::string s = std::to_string(numInputs);
  return minInputs() == numInputs ? s : std::to_string(minInputs()) + " or " + s;
}

const OpInfo &opInfo(OpKind k) { return table()[static_cast<size_t>(k)]; }

llvm::StringRef opName(OpKind k) { return opInfo(k).name; }

std::optional<OpKind> lookupOp(llvm::StringRef name) {
  static const llvm::StringMap<OpKind> byName = [] {
    llvm::StringMap<OpKind> m;
    for (const OpInfo &i : table())
      m[i.name] = i.kind;
    return m;
  }();
  auto it = byName.find(name);
  if (it == byName.end())
    return std::nullopt;
  return it->second;
}

const char *opClassName(OpClass c) {
  switch (c) {
  case OpClass::Elementwise:
    return "elementwise";
  case OpClass::Broadcast:
    return "broadcast";
  case OpClass::DataMovement:
    return "data-movement";
  case OpClass::Reduce:
    return "reduce";
  case OpClass::Loss:
    return "loss";
  case OpClass::MatMul:
    return "matmul";
  case OpClass::Opaque:
    return "opaque";
  }
  return "?";
}

const char *attrKindName(AttrKind k) {
  switch (k) {
  case AttrKind::Int:
    return "int";
  case AttrKind::Float:
    return "float";
  case AttrKind::String:
    return "string";
  case AttrKind::Ints:
    return "int list";
  case AttrKind::Floats:
    return "float list";
  }
  return "?";
}

llvm::Error checkAttrs(const Node &n) {
  const OpInfo &info = n.info();
  for (const auto &[name, value] : n.attrs().all()) {
    const AttrSpec *spec = info.findAttr(name);
    if (!spec) {
      std::string known;
      for (const AttrSpec &a : info.attrs)
        known += (known.empty() ? "" : ", ") + std::string(a.name);
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("unknown attribute '{0}' for op {1} (known: {2})", name, info.name,
                        known.empty() ? std::string("none") : known));
    }
    AttrKind got = attrKindOf(value);
    bool ok = got == spec->kind ||
              (spec->kind == AttrKind::Float && got == AttrKind::Int) ||
              (spec->scalarOk && spec->kind == AttrKind::Ints && got == AttrKind::Int) ||
              // An empty list prints the same either way.
              (spec->kind == AttrKind::Floats && got == AttrKind::Ints &&
               std::get<std::vector<int64_t>>(value).empty());
    if (!ok)
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          llvm::formatv("attribute '{0}' must be {1}, got {2}", name,
                        attrKindName(spec->kind), attrKindName(got)));
  }
  for (const AttrSpec &a : info.attrs)
    if (a.required && !n.attrs().has(a.name))
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     llvm::formatv("missing required attribute '{0}'",
                                                   a.name));
  return llvm::Error::success();
}

} // namespace gradc::ir
