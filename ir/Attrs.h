//===- ir/Attrs.h - Node attributes -----------------------------*- C++ -*-===//
//
// A node's attributes: a small ordered map from name to a typed value
// (int, float, string, int list, float list). Accessors take the default the
// op's schema documents; the verifier has already checked kinds and names.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpInfo.h"

#include <map>
#include <string>
#include <variant>
#include <vector>

namespace gradc::ir {

using AttrValue = std::variant<int64_t, double, std::string, std::vector<int64_t>,
                               std::vector<double>>;

AttrKind attrKindOf(const AttrValue &v);

class Attrs {
public:
  void set(const std::string &name, AttrValue v) { map_[name] = std::move(v); }
  bool has(const std::string &name) const { return map_.count(name) != 0; }
  const AttrValue *get(const std::string &name) const {
    auto it = map_.find(name);
    return it == map_.end() ? nullptr : &it->second;
  }
  void erase(const std::string &name) { map_.erase(name); }

  int64_t getInt(const std::string &name, int64_t dflt) const;
  double getFloat(const std::string &name, double dflt) const;
  std::string getString(const std::string &name, const std::string &dflt) const;
  std::vector<int64_t> getInts(const std::string &name,
                               const std::vector<int64_t> &dflt = {}) const;
  std::vector<double> getFloats(const std::string &name,
                                const std::vector<double> &dflt = {}) const;

  /// Sorted by name, so printing is deterministic.
  const std::map<std::string, AttrValue> &all() const { return map_; }
  bool empty() const { return map_.empty(); }
  bool operator==(const Attrs &o) const { return map_ == o.map_; }

private:
  std::map<std::string, AttrValue> map_;
};

/// Text form of a value as the IR printer writes it: 3, 0.5, "s", [1,2], [0.5].
std::string attrValueToString(const AttrValue &v);

} // namespace gradc::ir
