//===- runtime/Csv.cpp - Labelled data sets from CSV files ----------------===//
#include "runtime/Csv.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace gradc::rt {

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// A finite decimal number taking the whole field.
static bool parseNumber(llvm::StringRef field, double &out) {
  if (field.empty() || field.size() > 64)
    return false;
  char buf[65];
  std::memcpy(buf, field.data(), field.size());
  buf[field.size()] = '\0';
  char *end = nullptr;
  errno = 0;
  out = std::strtod(buf, &end);
  return end == buf + field.size() && errno == 0 && std::isfinite(out);
}

/// Printable excerpt of a field for messages.
static std::string shown(llvm::StringRef f) {
  std::string s;
  for (char c : f.take_front(24))
    s += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  return f.size() > 24 ? s + "..." : s;
}

llvm::Expected<Dataset> parseCsv(llvm::StringRef text, llvm::StringRef path) {
  std::vector<float> features;
  std::vector<int32_t> labels;
  size_t fields = 0;
  int64_t firstLine = 0, lineNo = 0;
  bool sawHeader = false;
  llvm::SmallVector<llvm::StringRef, 16> parts;
  while (!text.empty()) {
    auto [line, rest] = text.split('\n');
    text = rest;
    ++lineNo;
    line = line.rtrim("\r");
    if (line.trim().empty())
      continue;
    parts.clear();
    line.split(parts, ',');
    for (llvm::StringRef &p : parts)
      p = p.trim(" \t");
    std::vector<double> values(parts.size());
    size_t bad = parts.size();
    for (size_t i = 0; i < parts.size() && bad == parts.size(); ++i)
      if (!parseNumber(parts[i], values[i]))
        bad = i;
    if (fields == 0) {
      if (parts.size() < 2)
        return error(llvm::formatv("{0}:{1}: a record needs at least one feature and a label, "
                                   "got {2} field",
                                   path, lineNo, parts.size()));
      fields = parts.size();
      firstLine = lineNo;
      if (bad != parts.size() && !sawHeader && labels.empty()) {
        sawHeader = true; // a line with a non-number: the header
        continue;
      }
    }
    if (parts.size() != fields)
      return error(llvm::formatv("{0}:{1}: expected {2} fields like line {3}, got {4}", path,
                                 lineNo, fields, firstLine, parts.size()));
    if (bad != parts.size())
      return error(llvm::formatv("{0}:{1}: field {2} is '{3}', not a number", path, lineNo,
                                 bad + 1, shown(parts[bad])));
    double label = values.back();
    if (label < 0 || label != std::floor(label) || label > 2147483647.0)
      return error(llvm::formatv("{0}:{1}: the label (last field) is '{2}', not a "
                                 "non-negative integer",
                                 path, lineNo, shown(parts.back())));
    for (size_t i = 0; i + 1 < fields; ++i)
      features.push_back(static_cast<float>(values[i]));
    labels.push_back(static_cast<int32_t>(label));
  }
  if (labels.empty())
    return error(path + (sawHeader ? ": the file holds a header but no records"
                                   : ": the file holds no records"));
  Dataset d;
  int64_t count = static_cast<int64_t>(labels.size());
  d.features = Tensor(DType::F32, {count, static_cast<int64_t>(fields - 1)});
  d.labels = Tensor(DType::I32, {count});
  std::memcpy(d.features.data(), features.data(), features.size() * sizeof(float));
  std::memcpy(d.labels.data(), labels.data(), labels.size() * sizeof(int32_t));
  d.source = path.str();
  return d;
}

llvm::Expected<Dataset> loadCsv(llvm::StringRef path) {
  // Only regular files: reading a pipe or a device would have no size bound.
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return error(path + ": cannot read: " + ec.message());
  if (!llvm::sys::fs::is_regular_file(st))
    return error(path + ": not a regular file");
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return error(path + ": cannot read: " + buf.getError().message());
  return parseCsv((*buf)->getBuffer(), path);
}

} // namespace gradc::rt
