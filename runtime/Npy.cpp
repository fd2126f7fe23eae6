//===- runtime/Npy.cpp - NumPy .npy files ---------------------------------===//
//
// Layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE
// for 2.0/3.0), then the header: a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and ending in '\n', then the raw array in C order.
//
// The header is parsed by a small recursive-descent reader of exactly the
// literals that can appear (strings, True/False, tuples of ints); nothing is
// allocated from header numbers until the file size has been checked against
// them with overflow-safe arithmetic.
//
//===----------------------------------------------------------------------===//
#include "runtime/Npy.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace gradc::rt {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
/// numpy writes headers of ~100 bytes; anything this large is not an array.
constexpr uint32_t kMaxHeaderLen = 1u << 16;
constexpr size_t kMaxRank = 32;

/// How the file stores elements and what they become.
struct SourceType {
  enum Kind { F32, F64, I8, U8, I16, U16, I32, U32, I64 } kind;
  unsigned bytes;
  DType dtype; // the tensor's
};

std::optional<SourceType> parseDescr(llvm::StringRef d) {
  using K = SourceType::Kind;
  // One-byte types have no byte order: numpy writes '|'.
  if (d == "|u1" || d == "<u1")
    return SourceType{K::U8, 1, DType::I32};
  if (d == "|i1" || d == "<i1")
    return SourceType{K::I8, 1, DType::I32};
  if (d == "<f4")
    return SourceType{K::F32, 4, DType::F32};
  if (d == "<f8")
    return SourceType{K::F64, 8, DType::F32};
  if (d == "<i2")
    return SourceType{K::I16, 2, DType::I32};
  if (d == "<u2")
    return SourceType{K::U16, 2, DType::I32};
  if (d == "<i4")
    return SourceType{K::I32, 4, DType::I32};
  if (d == "<u4")
    return SourceType{K::U32, 4, DType::I32};
  if (d == "<i8")
    return SourceType{K::I64, 8, DType::I32};
  return std::nullopt;
}

/// Reads the header dict. Errors name the cause only; the caller adds the path.
class HeaderParser {
public:
  explicit HeaderParser(llvm::StringRef text) : s_(text) {}

  struct Result {
    std::string descr;
    bool fortranOrder = false;
    Shape shape;
  };

  llvm::Expected<Result> parse() {
    Result r;
    bool haveDescr = false, haveOrder = false, haveShape = false;
    skipSpace();
    if (!eat('{'))
      return fail("expected '{'");
    skipSpace();
    while (!peek('}')) {
      std::string key;
      if (llvm::Error e = parseString(key))
        return e;
      skipSpace();
      if (!eat(':'))
        return fail("expected ':' after '" + key + "'");
      skipSpace();
      if (key == "descr") {
        if (haveDescr)
          return fail("key 'descr' appears twice");
        haveDescr = true;
        if (!peek('\'') && !peek('"'))
          return fail("descr must be a string (structured dtypes are not supported)");
        if (llvm::Error e = parseString(r.descr))
          return e;
      } else if (key == "fortran_order") {
        if (haveOrder)
          return fail("key 'fortran_order' appears twice");
        haveOrder = true;
        if (s_.consume_front("True"))
          r.fortranOrder = true;
        else if (s_.consume_front("False"))
          r.fortranOrder = false;
        else
          return fail("fortran_order must be True or False");
      } else if (key == "shape") {
        if (haveShape)
          return fail("key 'shape' appears twice");
        haveShape = true;
        if (llvm::Error e = parseShape(r.shape))
          return e;
      } else {
        return fail("unexpected key '" + key + "'");
      }
      skipSpace();
      if (!eat(',')) {
        if (!peek('}'))
          return fail("expected ',' or '}'");
        break;
      }
      skipSpace();
    }
    eat('}');
    skipSpace();
    if (!s_.empty())
      return fail("unexpected text after the dict");
    if (!haveDescr || !haveOrder || !haveShape)
      return fail(std::string("missing key '") +
                  (!haveDescr   ? "descr"
                   : !haveOrder ? "fortran_order"
                                : "shape") +
                  "'");
    return r;
  }

private:
  llvm::Error fail(const llvm::Twine &msg) const {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), "bad header: " + msg);
  }
  void skipSpace() { s_ = s_.ltrim(" \t\r\n"); }
  bool peek(char c) const { return !s_.empty() && s_.front() == c; }
  bool eat(char c) { return s_.consume_front(llvm::StringRef(&c, 1)); }

  llvm::Error parseString(std::string &out) {
    if (!peek('\'') && !peek('"'))
      return fail("expected a quoted key or string");
    char q = s_.front();
    size_t end = s_.find(q, 1);
    if (end == llvm::StringRef::npos)
      return fail("unterminated string");
    out = s_.substr(1, end - 1).str();
    s_ = s_.drop_front(end + 1);
    return llvm::Error::success();
  }

  llvm::Error parseShape(Shape &shape) {
    if (!eat('('))
      return fail("shape must be a tuple");
    skipSpace();
    while (!peek(')')) {
      if (peek('-'))
        return fail("negative dimension in shape");
      size_t digits = 0;
      while (digits < s_.size() && llvm::isDigit(s_[digits]))
        ++digits;
      if (!digits)
        return fail("shape must be a tuple of integers");
      int64_t d;
      if (s_.substr(0, digits).getAsInteger(10, d))
        return fail("dimension " + s_.substr(0, digits) + " is too large");
      s_ = s_.drop_front(digits);
      eat('L'); // Python 2 longs: "(3L, 4L)"
      if (shape.size() == kMaxRank)
        return fail(llvm::formatv("more than {0} dimensions", kMaxRank));
      shape.push_back(d);
      skipSpace();
      if (!eat(',')) {
        if (!peek(')'))
          return fail("expected ',' or ')' in shape");
        break;
      }
      skipSpace();
    }
    eat(')');
    return llvm::Error::success();
  }

  llvm::StringRef s_;
};

/// Converts `n` elements of `src` (stored as `st`) into `t`. Values that do
/// not fit the tensor's dtype are errors.
llvm::Error convert(const char *src, const SourceType &st, int64_t n, Tensor &t,
                    llvm::StringRef path) {
  using K = SourceType::Kind;
  using llvm::support::endian::read;
  constexpr auto LE = llvm::endianness::little;
  auto outOfRange = [&](int64_t i, const std::string &v) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::formatv("{0}: value {1} at index {2} does not fit in {3}",
                                                 path, v, i, dtypeName(t.dtype())));
  };
  for (int64_t i = 0; i < n; ++i) {
    const char *p = src + i * st.bytes;
    switch (st.kind) {
    case K::F32:
      t.f32()[i] = llvm::bit_cast<float>(read<uint32_t, LE>(p));
      break;
    case K::F64: {
      double d = llvm::bit_cast<double>(read<uint64_t, LE>(p));
      if (std::isfinite(d) && std::fabs(d) > FLT_MAX)
        return outOfRange(i, llvm::formatv("{0}", d).str());
      t.f32()[i] = static_cast<float>(d);
      break;
    }
    case K::I8:
      t.i32()[i] = static_cast<int8_t>(*p);
      break;
    case K::U8:
      t.i32()[i] = static_cast<uint8_t>(*p);
      break;
    case K::I16:
      t.i32()[i] = read<int16_t, LE>(p);
      break;
    case K::U16:
      t.i32()[i] = read<uint16_t, LE>(p);
      break;
    case K::I32:
      t.i32()[i] = read<int32_t, LE>(p);
      break;
    case K::U32: {
      uint32_t v = read<uint32_t, LE>(p);
      if (v > uint32_t(std::numeric_limits<int32_t>::max()))
        return outOfRange(i, std::to_string(v));
      t.i32()[i] = static_cast<int32_t>(v);
      break;
    }
    case K::I64: {
      int64_t v = read<int64_t, LE>(p);
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        return outOfRange(i, std::to_string(v));
      t.i32()[i] = static_cast<int32_t>(v);
      break;
    }
    }
  }
  return llvm::Error::success();
}

llvm::Error fileError(llvm::StringRef path, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), path + ": " + msg);
}

} // namespace

llvm::Expected<Tensor> parseNpy(llvm::StringRef bytes, llvm::StringRef path) {
  if (bytes.size() < kMagicLen + 2 || !bytes.starts_with(llvm::StringRef(kMagic, kMagicLen)))
    return fileError(path, "not a .npy file (bad magic)");
  unsigned major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0)
    return fileError(path, llvm::formatv("unsupported .npy version {0}.{1}", major, minor));
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t prefix = kMagicLen + 2 + lenBytes;
  if (bytes.size() < prefix)
    return fileError(path, "truncated header");
  const char *lenPtr = bytes.data() + kMagicLen + 2;
  uint32_t headerLen = major == 1 ? llvm::support::endian::read16le(lenPtr)
                                  : llvm::support::endian::read32le(lenPtr);
  if (headerLen > kMaxHeaderLen)
    return fileError(path, llvm::formatv("header length {0} is too large", headerLen));
  if (bytes.size() - prefix < headerLen)
    return fileError(path, llvm::formatv("truncated header: expected {0} bytes, found {1}",
                                         headerLen, bytes.size() - prefix));
  auto header = HeaderParser(bytes.substr(prefix, headerLen)).parse();
  if (!header)
    return fileError(path, llvm::toString(header.takeError()));
  if (header->fortranOrder)
    return fileError(path, "fortran_order arrays are not supported (save in C order)");
  std::optional<SourceType> st = parseDescr(header->descr);
  if (!st) {
    if (llvm::StringRef(header->descr).starts_with(">"))
      return fileError(path, "big-endian dtype '" + header->descr + "' is not supported");
    return fileError(path, "unsupported dtype '" + header->descr +
                               "' (expected <f4 or <i4; <f8, <i8, <i2, <u2, <u4, |u1, |i1 "
                               "are converted)");
  }

  int64_t numel = 1;
  for (int64_t d : header->shape)
    if (__builtin_mul_overflow(numel, d, &numel))
      return fileError(path, "shape " + shapeToString(header->shape) + " is too large");
  int64_t dataBytes;
  if (__builtin_mul_overflow(numel, int64_t(st->bytes), &dataBytes))
    return fileError(path, "shape " + shapeToString(header->shape) + " is too large");
  uint64_t found = bytes.size() - prefix - headerLen;
  if (found < uint64_t(dataBytes))
    return fileError(
        path, llvm::formatv("truncated: expected {0} bytes of data, found {1}", dataBytes, found));
  if (found > uint64_t(dataBytes))
    return fileError(path, llvm::formatv("expected {0} bytes of data, found {1} (trailing "
                                         "bytes after the array)",
                                         dataBytes, found));

  auto t = Tensor::create(st->dtype, header->shape, path.str());
  if (!t)
    return t.takeError();
  const char *data = bytes.data() + prefix + headerLen;
  if (llvm::Error e = convert(data, *st, numel, *t, path))
    return e;
  return t;
}

llvm::Expected<Tensor> readNpy(llvm::StringRef path) {
  // Mapped, not read: the size check in parseNpy comes before any allocation.
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return fileError(path, "cannot read: " + buf.getError().message());
  return parseNpy((*buf)->getBuffer(), path);
}

llvm::Error writeNpy(llvm::StringRef path, const Tensor &t) {
  if (t.empty())
    return fileError(path, "cannot write an unallocated tensor");
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += std::to_string(t.shape()[i]) + (i + 1 < t.shape().size() ? ", " : "");
  shape += t.shape().size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + (t.dtype() == DType::F32 ? "<f4" : "<i4") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that the data starts on a 64-byte boundary, as numpy does.
  size_t total = kMagicLen + 2 + 2 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  auto tmp = llvm::sys::fs::TempFile::create(path + "-%%%%%%.tmp");
  if (!tmp)
    return fileError(path, "cannot write: " + llvm::toString(tmp.takeError()));
  {
    llvm::raw_fd_ostream os(tmp->FD, /*shouldClose=*/false);
    os.write(kMagic, kMagicLen);
    os << char(1) << char(0);
    char len[2];
    llvm::support::endian::write16le(len, static_cast<uint16_t>(header.size()));
    os.write(len, 2);
    os << header;
    // Tensors are host-endian; gradc runs on little-endian hosts only.
    static_assert(llvm::endianness::native == llvm::endianness::little);
    os.write(static_cast<const char *>(t.data()), t.bytes());
    os.flush();
    if (os.has_error()) {
      std::string msg = os.error().message();
      os.clear_error();
      llvm::consumeError(tmp->discard());
      return fileError(path, "cannot write: " + msg);
    }
  }
  if (llvm::Error e = tmp->keep(path))
    return fileError(path, "cannot write: " + llvm::toString(std::move(e)));
  return llvm::Error::success();
}

} // namespace gradc::rt
