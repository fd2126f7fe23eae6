#include "ir/Attrs.h"

#include <cstdio>

namespace gradc::ir {

AttrKind attrKindOf(const AttrValue &v) {
  switch (v.index()) {
  case 0:
    return AttrKind::Int;
  case 1:
    return AttrKind::Float;
  case 2:
    return AttrKind::String;
  case 3:
    return AttrKind::Ints;
  default:
    return AttrKind::Floats;
  }
}

int64_t Attrs::getInt(const std::string &name, int64_t dflt) const {
  const AttrValue *v = get(name);
  if (!v)
    return dflt;
  if (auto *i = std::get_if<int64_t>(v))
    return *i;
  return dflt;
}

double Attrs::getFloat(const std::string &name, double dflt) const {
  const AttrValue *v = get(name);
  if (!v)
    return dflt;
  if (auto *f = std::get_if<double>(v))
    return *f;
  if (auto *i = std::get_if<int64_t>(v))
    return static_cast<double>(*i);
  return dflt;
}

std::string Attrs::getString(const std::string &name, const std::string &dflt) const {
  const AttrValue *v = get(name);
  if (auto *s = v ? std::get_if<std::string>(v) : nullptr)
    return *s;
  return dflt;
}

std::vector<int64_t> Attrs::getInts(const std::string &name,
                                    const std::vector<int64_t> &dflt) const {
  const AttrValue *v = get(name);
  if (auto *l = v ? std::get_if<std::vector<int64_t>>(v) : nullptr)
    return *l;
  return dflt;
}

std::vector<double> Attrs::getFloats(const std::string &name,
                                     const std::vector<double> &dflt) const {
  const AttrValue *v = get(name);
  if (auto *l = v ? std::get_if<std::vector<double>>(v) : nullptr)
    return *l;
  return dflt;
}

static std::string floatText(double d) {
  // Shortest text that reads back to the same double.
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d)
      break;
  }
  std::string s = buf;
  // Keep floats distinguishable from ints in the text IR.
  if (s.find_first_of(".eEn") == std::string::npos)
    s += ".0";
  return s;
}

std::string attrValueToString(const AttrValue &v) {
  switch (attrKindOf(v)) {
  case AttrKind::Int:
    return std::to_string(std::get<int64_t>(v));
  case AttrKind::Float:
    return floatText(std::get<double>(v));
  case AttrKind::String: {
    std::string out = "\"";
    for (char c : std::get<std::string>(v)) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    return out + "\"";
  }
  case AttrKind::Ints: {
    std::string out = "[";
    const auto &l = std::get<std::vector<int64_t>>(v);
    for (size_t i = 0; i < l.size(); ++i)
      out += (i ? "," : "") + std::to_string(l[i]);
    return out + "]";
  }
  case AttrKind::Floats: {
    std::string out = "f[";
    const auto &l = std::get<std::vector<double>>(v);
    for (size_t i = 0; i < l.size(); ++i)
      out += (i ? "," : "") + floatText(l[i]);
    return out + "]";
  }
  }
  return "";
}

} // namespace gradc::ir
