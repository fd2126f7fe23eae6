//===- runtime/TextData.h - Character-level language-model data --*- C++ -*-===//
//
// A text file of lines (e.g. data/names/names.txt) becomes next-character
// prediction windows:
//   - vocabulary: the distinct bytes of the whole file, sorted, newline
//     included; id = rank in that order (so ids are dense from 0);
//   - dev split: every 10th line (line index % 10 == 9), the rest train;
//   - each split's lines are joined, each ending in '\n', into one stream,
//     cut into windows of T + 1 characters at stride T: ids = the first T,
//     next = the last T (the character that follows each position).
//     A tail shorter than T + 1 is dropped.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Tensor.h"

#include "llvm/Support/Error.h"

#include <string>

namespace gradc::rt {

struct TextWindows {
  Tensor ids;  // i32 [count, T]
  Tensor next; // i32 [count, T]
  int64_t count() const { return ids.empty() ? 0 : ids.shape()[0]; }
};

struct TextData {
  std::string vocab; // vocab[id] is the character with that id
  TextWindows train, dev;
  std::string source;
};

/// Reads `path` and cuts windows of `steps` (T) characters. Errors name the
/// file: unreadable, empty, not enough text for one window in a split, or
/// more distinct characters than `maxVocab` (the model's vocabulary).
llvm::Expected<TextData> loadTextData(const std::string &path, int64_t steps,
                                      int64_t maxVocab);

} // namespace gradc::rt
