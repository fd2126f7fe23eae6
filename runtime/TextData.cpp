//===- runtime/TextData.cpp - Character-level language-model data ---------===//
#include "runtime/TextData.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <array>

namespace gradc::rt {

static llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Windows of steps + 1 ids at stride `steps` over `stream`.
static llvm::Expected<TextWindows> cut(const std::vector<int32_t> &stream, int64_t steps,
                                       const std::string &what) {
  int64_t count = stream.size() > size_t(steps) ? (int64_t(stream.size()) - 1) / steps : 0;
  if (count == 0)
    return err(llvm::formatv("{0}: fewer than {1} characters, not one window", what,
                             steps + 1));
  auto ids = Tensor::create(DType::I32, {count, steps}, what);
  if (!ids)
    return ids.takeError();
  auto next = Tensor::create(DType::I32, {count, steps}, what);
  if (!next)
    return next.takeError();
  for (int64_t w = 0; w < count; ++w)
    for (int64_t t = 0; t < steps; ++t) {
      ids->i32()[w * steps + t] = stream[w * steps + t];
      next->i32()[w * steps + t] = stream[w * steps + t + 1];
    }
  return TextWindows{std::move(*ids), std::move(*next)};
}

llvm::Expected<TextData> loadTextData(const std::string &path, int64_t steps,
                                      int64_t maxVocab) {
  if (steps < 1)
    return err(path + ": the model's sequence length must be at least 1");
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return err(path + ": " + buf.getError().message());
  llvm::StringRef text = (*buf)->getBuffer();
  TextData d;
  d.source = path;
  std::array<bool, 256> seen{};
  for (unsigned char c : text)
    seen[c] = true;
  seen['\n'] = true;
  for (int c = 0; c < 256; ++c)
    if (seen[c])
      d.vocab.push_back(static_cast<char>(c));
  if (int64_t(d.vocab.size()) > maxVocab)
    return err(llvm::formatv("{0}: the text has {1} distinct characters, but the model's "
                             "vocabulary holds {2}",
                             path, d.vocab.size(), maxVocab));
  std::array<int32_t, 256> id{};
  for (size_t i = 0; i < d.vocab.size(); ++i)
    id[static_cast<unsigned char>(d.vocab[i])] = static_cast<int32_t>(i);

  std::vector<int32_t> train, dev;
  llvm::SmallVector<llvm::StringRef, 0> lines;
  text.split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<int32_t> &dst = i % 10 == 9 ? dev : train;
    for (unsigned char c : lines[i])
      dst.push_back(id[c]);
    dst.push_back(id['\n']);
  }
  auto tr = cut(train, steps, path + " (train split)");
  if (!tr)
    return tr.takeError();
  auto dv = cut(dev, steps, path + " (dev split: every 10th line)");
  if (!dv)
    return dv.takeError();
  d.train = std::move(*tr);
  d.dev = std::move(*dv);
  return d;
}

} // namespace gradc::rt
