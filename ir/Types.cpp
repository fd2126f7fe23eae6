#include "ir/Types.h"

#include <limits>

namespace gradc {

const char *hyperKindName(HyperKind k) {
  switch (k) {
  case HyperKind::LearningRate:
    return "lr";
  case HyperKind::AdamStepSize:
    return "adam_step_size";
  case HyperKind::AdamBiasCorrection2Sqrt:
    return "adam_bc2_sqrt";
  case HyperKind::AdamWDecay:
    return "adamw_decay";
  case HyperKind::Step:
    return "step";
  }
  return "?";
}

std::optional<HyperKind> parseHyperKind(const std::string &s) {
  for (HyperKind k : {HyperKind::LearningRate, HyperKind::AdamStepSize,
                      HyperKind::AdamBiasCorrection2Sqrt, HyperKind::AdamWDecay,
                      HyperKind::Step})
    if (s == hyperKindName(k))
      return k;
  return std::nullopt;
}

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32:
    return "f32";
  case DType::I32:
    return "i32";
  }
  return "?";
}

std::optional<DType> parseDType(const std::string &s) {
  if (s == "f32")
    return DType::F32;
  if (s == "i32")
    return DType::I32;
  return std::nullopt;
}

std::string shapeToString(const Shape &s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i)
      out += ",";
    out += s[i] == kBatch ? std::string("N") : std::to_string(s[i]);
  }
  return out + "]";
}

int64_t staticNumel(const Shape &s) {
  int64_t n = 1;
  for (int64_t d : s)
    if (d != kBatch)
      n *= d;
  return n;
}

bool hasBatch(const Shape &s) {
  for (int64_t d : s)
    if (d == kBatch)
      return true;
  return false;
}

Shape bindBatch(const Shape &s, int64_t batch) {
  Shape out = s;
  for (int64_t &d : out)
    if (d == kBatch)
      d = batch;
  return out;
}

std::optional<int64_t> numelFor(const Shape &s, int64_t batch) {
  int64_t n = 1;
  for (int64_t d : s) {
    int64_t v = d == kBatch ? batch : d;
    if (v < 0)
      return std::nullopt;
    if (v != 0 && n > std::numeric_limits<int64_t>::max() / v)
      return std::nullopt;
    n *= v;
  }
  return n;
}

std::string TensorType::str() const {
  if (!known)
    return "?";
  return std::string(dtypeName(dtype)) + shapeToString(shape);
}

} // namespace gradc
