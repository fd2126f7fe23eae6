//===- runtime/Idx.cpp - IDX files (the MNIST format) ---------------------===//
//
// A ByteSource yields the file's bytes, inflating gzip files on the fly with
// zlib (inflateInit2 with 16 + MAX_WBITS: gzip framing, CRC checked at the
// end). The reader takes the header from it, then the payload in chunks of at
// most 1 MiB into a buffer that grows only as data actually arrives: a short
// file or a small gzip file whose header claims billions of pixels costs
// what the file holds, not what it claims. Only then is the tensor allocated
// (through Tensor::create's limits) and the payload converted.
//
//===----------------------------------------------------------------------===//
#include "runtime/Idx.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"

#include <zlib.h>

#include <climits>
#include <cstring>
#include <memory>
#include <vector>

namespace gradc::rt {

namespace {

constexpr uint8_t kUByte = 0x08;
constexpr uint8_t kFloat = 0x0D;
constexpr size_t kChunk = size_t(1) << 20;

llvm::Error fileError(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + msg);
}

/// The bytes of a plain or gzip-compressed file.
class ByteSource {
public:
  static llvm::Expected<std::unique_ptr<ByteSource>> open(llvm::StringRef path) {
    auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
    if (!buf)
      return fileError(path, "cannot read: " + buf.getError().message());
    auto src = std::unique_ptr<ByteSource>(new ByteSource(path, std::move(*buf)));
    llvm::StringRef data = src->file_->getBuffer();
    src->gzip_ = data.size() >= 2 && uint8_t(data[0]) == 0x1f && uint8_t(data[1]) == 0x8b;
    if (src->gzip_) {
      std::memset(&src->z_, 0, sizeof(z_stream));
      if (inflateInit2(&src->z_, 16 + MAX_WBITS) != Z_OK)
        return fileError(path, "cannot start gzip decompression");
      src->zOpen_ = true;
    }
    return src;
  }

  ~ByteSource() {
    if (zOpen_)
      inflateEnd(&z_);
  }

  bool isGzip() const { return gzip_; }

  /// Reads up to `n` bytes into `dst`; fewer only at the end of the data.
  llvm::Expected<size_t> read(char *dst, size_t n) {
    if (!gzip_) {
      size_t k = std::min(n, file_->getBufferSize() - pos_);
      std::memcpy(dst, file_->getBufferStart() + pos_, k);
      pos_ += k;
      return k;
    }
    size_t got = 0;
    while (got < n && !ended_) {
      if (z_.avail_in == 0 && pos_ < file_->getBufferSize()) {
        size_t feed = std::min<size_t>(file_->getBufferSize() - pos_, UINT_MAX);
        z_.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(file_->getBufferStart() + pos_));
        z_.avail_in = static_cast<uInt>(feed);
        pos_ += feed;
      }
      size_t want = std::min<size_t>(n - got, UINT_MAX);
      z_.next_out = reinterpret_cast<Bytef *>(dst + got);
      z_.avail_out = static_cast<uInt>(want);
      int rc = inflate(&z_, Z_NO_FLUSH);
      got += want - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // Concatenated gzip members form one stream (as gunzip reads them).
        if (z_.avail_in == 0 && pos_ == file_->getBufferSize()) {
          ended_ = true;
        } else if (inflateReset(&z_) != Z_OK) {
          return fileError(path_, "corrupt gzip data");
        }
        continue;
      }
      if (rc == Z_BUF_ERROR && z_.avail_in == 0 && pos_ == file_->getBufferSize())
        break; // input exhausted before the stream's end: the caller sees a short read
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return fileError(path_,
                         llvm::Twine("corrupt gzip data: ") + (z_.msg ? z_.msg : "inflate failed"));
    }
    return got;
  }

  /// Checks that nothing follows what has been read: no extra bytes, and for
  /// gzip a complete stream (its CRC is verified at the end).
  llvm::Error finish(llvm::StringRef what) {
    char extra;
    auto n = read(&extra, 1);
    if (!n)
      return n.takeError();
    if (*n)
      return fileError(path_, "unexpected data after the " + what);
    if (gzip_ && !ended_)
      return fileError(path_, "truncated gzip stream (the data ends before its trailer)");
    return llvm::Error::success();
  }

private:
  ByteSource(llvm::StringRef path, std::unique_ptr<llvm::MemoryBuffer> file)
      : path_(path.str()), file_(std::move(file)) {}

  std::string path_;
  std::unique_ptr<llvm::MemoryBuffer> file_;
  size_t pos_ = 0;
  bool gzip_ = false, zOpen_ = false, ended_ = false;
  z_stream z_;
};

struct IdxHeader {
  uint8_t type = 0;
  Shape dims;
};

llvm::Expected<IdxHeader> readHeader(ByteSource &src, llvm::StringRef path) {
  char magic[4];
  auto n = src.read(magic, 4);
  if (!n)
    return n.takeError();
  if (*n < 4)
    return fileError(path, llvm::formatv("truncated: expected a 4-byte IDX magic, got {0} "
                                         "bytes",
                                         *n));
  IdxHeader h;
  uint32_t m = llvm::support::endian::read32be(magic);
  h.type = uint8_t(magic[2]);
  unsigned rank = uint8_t(magic[3]);
  if (magic[0] != 0 || magic[1] != 0 || rank == 0)
    return fileError(path, llvm::formatv("not an IDX file (magic {0:x8})", m));
  char dims[4 * 255];
  n = src.read(dims, 4 * rank);
  if (!n)
    return n.takeError();
  if (*n < 4 * rank)
    return fileError(path, llvm::formatv("truncated: expected {0} dims in the header, got "
                                         "{1} bytes",
                                         rank, *n));
  for (unsigned i = 0; i < rank; ++i)
    h.dims.push_back(llvm::support::endian::read32be(dims + 4 * i));
  return h;
}

/// Reads exactly `bytes` bytes of payload, growing the buffer as data comes.
llvm::Expected<std::vector<char>> readPayload(ByteSource &src, int64_t bytes, llvm::StringRef what,
                                              llvm::StringRef path) {
  std::vector<char> out;
  while (int64_t(out.size()) < bytes) {
    size_t have = out.size();
    size_t step = std::min<size_t>(kChunk, size_t(bytes) - have);
    out.resize(have + step);
    auto n = src.read(out.data() + have, step);
    if (!n)
      return n.takeError();
    if (*n < step)
      return fileError(path, llvm::formatv("truncated: expected {0} bytes of {1}, got {2}", bytes,
                                           what, have + *n));
  }
  if (llvm::Error e = src.finish(what))
    return e;
  return out;
}

std::string magicText(uint8_t type, size_t rank) {
  return llvm::formatv("{0:x8}", (uint32_t(type) << 8) | uint32_t(rank)).str();
}

} // namespace

llvm::Expected<Tensor> readIdxImages(llvm::StringRef path) {
  auto src = ByteSource::open(path);
  if (!src)
    return src.takeError();
  auto h = readHeader(**src, path);
  if (!h)
    return h.takeError();
  if ((h->type != kUByte && h->type != kFloat) || h->dims.size() < 2)
    return fileError(path, "magic " + magicText(h->type, h->dims.size()) +
                               " is not an IDX image file (expected 0x00000803: ubyte "
                               "images; 0x0000080N or 0x00000D0N with N >= 2 dims)");
  // Tensor::create bounds the f32 tensor; the payload is at most as large.
  auto t = [&]() -> llvm::Expected<int64_t> {
    auto n = numelFor(h->dims, 0);
    if (!n || *n > kMaxTensorBytes / 4)
      return fileError(path, "image dims " + shapeToString(h->dims) + " are too large");
    return *n;
  }();
  if (!t)
    return t.takeError();
  int64_t numel = *t;
  int64_t elemBytes = h->type == kUByte ? 1 : 4;
  auto payload = readPayload(**src, numel * elemBytes, "pixels", path);
  if (!payload)
    return payload.takeError();
  auto out = Tensor::create(DType::F32, h->dims, path.str());
  if (!out)
    return out.takeError();
  float *dst = out->f32();
  const char *p = payload->data();
  if (h->type == kUByte) {
    for (int64_t i = 0; i < numel; ++i)
      dst[i] = float(uint8_t(p[i])) / 255.0f;
  } else {
    for (int64_t i = 0; i < numel; ++i)
      dst[i] = llvm::bit_cast<float>(llvm::support::endian::read32be(p + 4 * i));
  }
  return out;
}

llvm::Expected<Tensor> readIdxLabels(llvm::StringRef path) {
  auto src = ByteSource::open(path);
  if (!src)
    return src.takeError();
  auto h = readHeader(**src, path);
  if (!h)
    return h.takeError();
  if (h->type != kUByte || h->dims.size() != 1)
    return fileError(path, "magic " + magicText(h->type, h->dims.size()) +
                               " is not an IDX label file (expected 0x00000801: ubyte "
                               "labels)");
  int64_t count = h->dims[0];
  auto payload = readPayload(**src, count, "labels", path);
  if (!payload)
    return payload.takeError();
  auto out = Tensor::create(DType::I32, {count}, path.str());
  if (!out)
    return out.takeError();
  for (int64_t i = 0; i < count; ++i)
    out->i32()[i] = uint8_t((*payload)[i]);
  return out;
}

} // namespace gradc::rt
