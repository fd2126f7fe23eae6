//===- tests/unit/DataTest.cpp - .npy, IDX, MNIST and batching -------------===//
//
// Malformed files are built byte by byte in a temporary directory, one defect
// each, and every error message is checked. The bundled MNIST files in
// data/mnist are read as they ship (data/README.md gives the counts).
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"
#include "runtime/Idx.h"
#include "runtime/Npy.h"
#include "tests/TestUtil.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

using namespace gradc;
using namespace gradc::rt;
using gradc::test::errorText;
using gradc::test::expectOk;
using gradc::test::sourcePath;

namespace {

std::string le32(uint32_t v) { return std::string(reinterpret_cast<const char *>(&v), 4); }
std::string be32(uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  return std::string(b, 4);
}

/// An .npy file: magic, version, header length, `dict` padded like numpy, data.
std::string npy(const std::string &dict, const std::string &data, int major = 1) {
  std::string header = dict;
  size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += char(major);
  out += char(0);
  if (major == 1) {
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
  } else {
    out += le32(uint32_t(header.size()));
  }
  return out + header + data;
}

std::string f32Bytes(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char *>(std::data(v)), v.size() * 4);
}

class DataTest : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("gradc-data", dir_)); }
  void TearDown() override { llvm::sys::fs::remove_directories(dir_); }

  std::string path(const std::string &name) {
    llvm::SmallString<256> p(dir_);
    llvm::sys::path::append(p, name);
    return std::string(p);
  }
  std::string write(const std::string &name, const std::string &bytes) {
    std::string p = path(name);
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string writeGz(const std::string &name, const std::string &bytes) {
    std::string p = path(name);
    gzFile f = gzopen(p.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(gzwrite(f, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
    gzclose(f);
    return p;
  }
  std::string readAll(const std::string &p) {
    auto buf = llvm::MemoryBuffer::getFile(p);
    return buf ? (*buf)->getBuffer().str() : "";
  }
  /// The error of reading `bytes` as an .npy file named bad.npy.
  std::string npyError(const std::string &bytes) {
    std::string p = write("bad.npy", bytes);
    auto t = readNpy(p);
    if (t)
      return "";
    std::string err = llvm::toString(t.takeError());
    EXPECT_EQ(err.rfind(p + ": ", 0), 0u) << "errors name the file: " << err;
    return err.substr(p.size() + 2);
  }

  llvm::SmallString<256> dir_;
};

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST_F(DataTest, NpyRoundTripsF32AndI32) {
  Tensor f(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i)
    f.f32()[i] = 0.5f * i - 1;
  expectOk(writeNpy(path("f.npy"), f));
  // Byte for byte what numpy 1.24's np.save writes for the same array.
  EXPECT_EQ(readAll(path("f.npy")),
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                std::string(static_cast<const char *>(f.data()), 24)));
  Tensor g = expectOk(readNpy(path("f.npy")));
  EXPECT_EQ(g.dtype(), DType::F32);
  EXPECT_EQ(g.shape(), (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(f.data(), g.data(), f.bytes()), 0);

  Tensor i(DType::I32, {3});
  i.i32()[0] = 7, i.i32()[1] = -1, i.i32()[2] = 3;
  expectOk(writeNpy(path("i.npy"), i));
  EXPECT_EQ(readAll(path("i.npy")).substr(10, 60),
            "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }   ");
  Tensor j = expectOk(readNpy(path("i.npy")));
  EXPECT_EQ(j.dtype(), DType::I32);
  EXPECT_EQ(j.shape(), (Shape{3}));
  EXPECT_EQ(j.i32()[1], -1);

  // Scalars and empty arrays.
  Tensor s(DType::F32, {});
  s.f32()[0] = 2.5f;
  expectOk(writeNpy(path("s.npy"), s));
  Tensor s2 = expectOk(readNpy(path("s.npy")));
  EXPECT_EQ(s2.shape(), Shape{});
  EXPECT_EQ(s2.f32()[0], 2.5f);
  expectOk(writeNpy(path("e.npy"), Tensor(DType::F32, {0, 4})));
  EXPECT_EQ(expectOk(readNpy(path("e.npy"))).shape(), (Shape{0, 4}));
}

TEST_F(DataTest, NpyWritesAtomically) {
  std::string p = path("w.npy");
  expectOk(writeNpy(p, Tensor(DType::F32, {2})));
  expectOk(writeNpy(p, Tensor(DType::F32, {5}))); // replaces
  EXPECT_EQ(expectOk(readNpy(p)).shape(), Shape{5});
  std::error_code ec;
  int files = 0;
  for (llvm::sys::fs::directory_iterator it(dir_, ec), end; it != end && !ec; it.increment(ec))
    ++files;
  EXPECT_EQ(files, 1) << "no temporary file is left behind";

  std::string err = errorText(writeNpy(path("no/such/dir/x.npy"), Tensor(DType::F32, {1})));
  EXPECT_EQ(err.rfind(path("no/such/dir/x.npy") + ": cannot write: ", 0), 0u) << err;
  EXPECT_FALSE(llvm::sys::fs::exists(path("no")));
  EXPECT_EQ(errorText(writeNpy(p, Tensor())), p + ": cannot write an unallocated tensor");
}

TEST_F(DataTest, NpyReadsOtherVersionsAndConvertsDtypes) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  Tensor v2 = expectOk(parseNpy(npy(dict, f32Bytes({1.5f, -2})), "v2.npy"));
  EXPECT_EQ(v2.f32()[1], -2.0f);
  EXPECT_EQ(expectOk(parseNpy(npy(dict, f32Bytes({1.5f, -2}), 2), "v2.npy")).f32()[0], 1.5f);
  EXPECT_EQ(expectOk(parseNpy(npy(dict, f32Bytes({1.5f, -2}), 3), "v3.npy")).f32()[0], 1.5f);
  // Python 2 longs, double quotes, other key order, no trailing comma.
  Tensor old = expectOk(parseNpy(
      npy("{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f4\"}", f32Bytes({3, 4})),
      "old.npy"));
  EXPECT_EQ(old.f32()[1], 4.0f);

  double d[3] = {0.25, -1e30, 7};
  Tensor f = expectOk(parseNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                                   std::string(reinterpret_cast<char *>(d), 24)),
                               "d.npy"));
  EXPECT_EQ(f.dtype(), DType::F32);
  EXPECT_EQ(f.f32()[0], 0.25f);
  EXPECT_EQ(f.f32()[1], -1e30f);

  int64_t l[2] = {-5, 2147483647};
  Tensor i = expectOk(parseNpy(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
                                   std::string(reinterpret_cast<char *>(l), 16)),
                               "l.npy"));
  EXPECT_EQ(i.dtype(), DType::I32);
  EXPECT_EQ(i.i32()[0], -5);
  EXPECT_EQ(i.i32()[1], 2147483647);

  Tensor u = expectOk(parseNpy(
      npy("{'descr': '|u1', 'fortran_order': False, 'shape': (1, 2), }", "\xff\x03"), "u.npy"));
  EXPECT_EQ(u.shape(), (Shape{1, 2}));
  EXPECT_EQ(u.i32()[0], 255);
}

TEST_F(DataTest, NpyMalformedFiles) {
  auto dict = [](const std::string &descr, const std::string &shape,
                 const std::string &order = "False") {
    return "{'descr': '" + descr + "', 'fortran_order': " + order + ", 'shape': " + shape + ", }";
  };
  const std::string six = f32Bytes({1, 2, 3, 4, 5, 6});
  const std::string good = npy(dict("<f4", "(2, 3)"), six);
  ASSERT_EQ(npyError(good), "");

  EXPECT_EQ(npyError("not an npy file at all"), "not a .npy file (bad magic)");
  EXPECT_EQ(npyError("\x93NUM"), "not a .npy file (bad magic)");
  std::string v4 = good;
  v4[6] = 4;
  EXPECT_EQ(npyError(v4), "unsupported .npy version 4.0");
  EXPECT_EQ(npyError(good.substr(0, 9)), "truncated header");
  EXPECT_EQ(npyError(good.substr(0, 40)), "truncated header: expected 118 bytes, found 30");
  std::string huge = npy(dict("<f4", "(2, 3)"), six, 2);
  huge.replace(8, 4, le32(0x7fffffff));
  EXPECT_EQ(npyError(huge), "header length 2147483647 is too large");

  EXPECT_EQ(npyError(npy(dict("<f4", "(2, 3)", "True"), six)),
            "fortran_order arrays are not supported (save in C order)");
  EXPECT_EQ(npyError(npy(dict(">f4", "(2, 3)"), six)), "big-endian dtype '>f4' is not supported");
  EXPECT_EQ(npyError(npy(dict("<c8", "(2, 3)"), six)),
            "unsupported dtype '<c8' (expected <f4 or <i4; <f8, <i8, <i2, <u2, <u4, |u1, |i1 are "
            "converted)");
  EXPECT_EQ(npyError(npy(dict("<f4", "(2, -3)"), six)), "bad header: negative dimension in shape");
  EXPECT_EQ(npyError(npy(dict("<f4", "[2, 3]"), six)), "bad header: shape must be a tuple");
  EXPECT_EQ(npyError(npy(dict("<f4", "(2, x)"), six)),
            "bad header: shape must be a tuple of integers");
  EXPECT_EQ(npyError(npy("{'descr': '<f4', 'shape': (6,), }", six)),
            "bad header: missing key 'fortran_order'");
  EXPECT_EQ(
      npyError(npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", six)),
      "bad header: key 'descr' appears twice");
  EXPECT_EQ(npyError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}", six)),
            "bad header: unexpected key 'x'");
  EXPECT_EQ(npyError(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}", six)),
            "bad header: descr must be a string (structured dtypes are not supported)");
  EXPECT_EQ(npyError(npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,)}", six)),
            "bad header: fortran_order must be True or False");
  EXPECT_EQ(npyError(npy("{'descr': '<f4' 'fortran_order': False}", six)),
            "bad header: expected ',' or '}'");
  EXPECT_EQ(npyError(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} junk", six)),
            "bad header: unexpected text after the dict");
  EXPECT_EQ(npyError(npy("{'descr: '<f4'}", six)), "bad header: expected ':' after 'descr: '");
  EXPECT_EQ(npyError(npy(dict("<f4", "(99999999999999999999,)"), six)),
            "bad header: dimension 99999999999999999999 is too large");
  EXPECT_EQ(npyError(npy(dict("<f4", "(4294967296, 4294967296)"), six)),
            "shape [4294967296,4294967296] is too large");

  // The data must be exactly as long as the header says.
  EXPECT_EQ(npyError(good.substr(0, good.size() - 4)),
            "truncated: expected 24 bytes of data, found 20");
  EXPECT_EQ(npyError(npy(dict("<f4", "(2, 3)"), "")),
            "truncated: expected 24 bytes of data, found 0");
  EXPECT_EQ(npyError(good + "xx"),
            "expected 24 bytes of data, found 26 (trailing bytes after the array)");

  // Values that do not fit the converted dtype.
  int64_t l[1] = {int64_t(1) << 40};
  EXPECT_EQ(npyError(npy(dict("<i8", "(1,)"), std::string(reinterpret_cast<char *>(l), 8))),
            "value 1099511627776 at index 0 does not fit in i32");
  double d[2] = {1, 1e300};
  std::string err =
      npyError(npy(dict("<f8", "(2,)"), std::string(reinterpret_cast<char *>(d), 16)));
  EXPECT_NE(err.find("at index 1 does not fit in f32"), std::string::npos) << err;

  std::string missing = path("missing.npy");
  err = errorText(readNpy(missing).takeError());
  EXPECT_EQ(err.rfind(missing + ": cannot read: ", 0), 0u) << err;
}

//===----------------------------------------------------------------------===//
// IDX
//===----------------------------------------------------------------------===//

std::string idxImages(uint32_t count, uint32_t rows, uint32_t cols, const std::string &pixels) {
  return be32(0x803) + be32(count) + be32(rows) + be32(cols) + pixels;
}
std::string idxLabels(const std::string &labels) {
  return be32(0x801) + be32(uint32_t(labels.size())) + labels;
}

TEST_F(DataTest, IdxReadsPlainAndGzip) {
  std::string pixels;
  for (int i = 0; i < 2 * 2 * 3; ++i)
    pixels += char(i * 20);
  for (bool gz : {false, true}) {
    std::string img = gz ? writeGz("img.gz", idxImages(2, 2, 3, pixels))
                         : write("img", idxImages(2, 2, 3, pixels));
    Tensor t = expectOk(readIdxImages(img));
    EXPECT_EQ(t.dtype(), DType::F32);
    EXPECT_EQ(t.shape(), (Shape{2, 2, 3}));
    EXPECT_FLOAT_EQ(t.f32()[11], 220.0f / 255.0f);
    EXPECT_EQ(t.f32()[0], 0.0f);

    std::string lab = gz ? writeGz("lab.gz", idxLabels(std::string("\x01\x09\x00", 3)))
                         : write("lab", idxLabels(std::string("\x01\x09\x00", 3)));
    Tensor l = expectOk(readIdxLabels(lab));
    EXPECT_EQ(l.dtype(), DType::I32);
    EXPECT_EQ(l.shape(), Shape{3});
    EXPECT_EQ(l.i32()[1], 9);
  }
  // Float images (type 0x0D) are big-endian and kept as they are.
  float v = 0.75f;
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  Tensor f = expectOk(readIdxImages(write("float", be32(0xD02) + be32(1) + be32(1) + be32(bits))));
  EXPECT_EQ(f.shape(), (Shape{1, 1}));
  EXPECT_EQ(f.f32()[0], 0.75f);
}

TEST_F(DataTest, IdxErrors) {
  std::string pixels(2 * 28 * 28, '\x7f');
  std::string labelsFile = write("labels", idxLabels("\x01\x02"));
  EXPECT_EQ(errorText(readIdxImages(labelsFile).takeError()),
            labelsFile + ": magic 0x00000801 is not an IDX image file (expected 0x00000803: ubyte "
                         "images; 0x0000080N or 0x00000D0N with N >= 2 dims)");
  std::string imagesFile = write("images", idxImages(2, 28, 28, pixels));
  EXPECT_EQ(errorText(readIdxLabels(imagesFile).takeError()),
            imagesFile + ": magic 0x00000803 is not an IDX label file (expected 0x00000801: ubyte "
                         "labels)");
  std::string junk = write("junk", "\x12\x34\x08\x03 and more");
  EXPECT_EQ(errorText(readIdxImages(junk).takeError()),
            junk + ": not an IDX file (magic 0x12340803)");
  std::string tiny = write("tiny", std::string(2, '\0'));
  EXPECT_EQ(errorText(readIdxImages(tiny).takeError()),
            tiny + ": truncated: expected a 4-byte IDX magic, got 2 bytes");
  std::string shortDims = write("dims", be32(0x803) + be32(2) + std::string(1, '\0'));
  EXPECT_EQ(errorText(readIdxImages(shortDims).takeError()),
            shortDims + ": truncated: expected 3 dims in the header, got 5 bytes");

  std::string cut = write("cut", idxImages(8000, 28, 28, std::string(100, '\0')));
  EXPECT_EQ(errorText(readIdxImages(cut).takeError()),
            cut + ": truncated: expected 6272000 bytes of pixels, got 100");
  std::string cutGz = writeGz("cut.gz", idxImages(8000, 28, 28, std::string(100, '\0')));
  EXPECT_EQ(errorText(readIdxImages(cutGz).takeError()),
            cutGz + ": truncated: expected 6272000 bytes of pixels, got 100");
  std::string cutLabels = write("cutl", be32(0x801) + be32(10) + "\x01\x02");
  EXPECT_EQ(errorText(readIdxLabels(cutLabels).takeError()),
            cutLabels + ": truncated: expected 10 bytes of labels, got 2");
  std::string extra = write("extra", idxLabels("\x01\x02") + "?");
  EXPECT_EQ(errorText(readIdxLabels(extra).takeError()),
            extra + ": unexpected data after the labels");

  // A gzip file cut short: the data ends inside the compressed stream.
  std::string full = readAll(writeGz("full.gz", idxImages(2, 28, 28, pixels)));
  std::string half = write("half.gz", full.substr(0, full.size() - 6));
  std::string err = errorText(readIdxImages(half).takeError());
  EXPECT_EQ(err, half + ": truncated gzip stream (the data ends before its trailer)");
  // Corrupt compressed bytes: zlib's complaint or the CRC check, never a crash.
  std::string bad = full;
  for (size_t i = 12; i < bad.size() - 8; ++i)
    bad[i] = char(bad[i] ^ 0x5a);
  std::string corrupt = write("corrupt.gz", bad);
  err = errorText(readIdxImages(corrupt).takeError());
  EXPECT_EQ(err.rfind(corrupt + ": ", 0), 0u) << err;
  std::string crc = full;
  crc[crc.size() - 8] ^= 1; // the stored CRC32
  std::string crcFile = write("crc.gz", crc);
  EXPECT_EQ(errorText(readIdxImages(crcFile).takeError()),
            crcFile + ": corrupt gzip data: incorrect data check");

  // A small file claiming a huge image count fails on what it holds.
  std::string claims = write("claims", idxImages(0xffffffff, 0xffff, 0xffff, "abc"));
  err = errorText(readIdxImages(claims).takeError());
  EXPECT_EQ(err, claims + ": image dims [4294967295,65535,65535] are too large");
  std::string claims2 = writeGz("claims2.gz", idxImages(100000, 100, 100, "abc"));
  EXPECT_EQ(errorText(readIdxImages(claims2).takeError()),
            claims2 + ": truncated: expected 1000000000 bytes of pixels, got 3");

  std::string missing = path("nothing.gz");
  err = errorText(readIdxImages(missing).takeError());
  EXPECT_EQ(err.rfind(missing + ": cannot read: ", 0), 0u) << err;
}

//===----------------------------------------------------------------------===//
// MNIST and batches
//===----------------------------------------------------------------------===//

TEST(Mnist, BundledDataHasTheDocumentedSplit) {
  std::string dir = sourcePath("data/mnist");
  Dataset train = expectOk(loadMnist(dir, "train"));
  Dataset test = expectOk(loadMnist(dir, "test"));
  EXPECT_EQ(train.count(), 8000);
  EXPECT_EQ(test.count(), 2000);
  EXPECT_EQ(train.features.shape(), (Shape{8000, 28, 28}));
  EXPECT_EQ(test.features.shape(), (Shape{2000, 28, 28}));
  EXPECT_EQ(train.sampleSize(), 784);
  EXPECT_EQ(train.labels.dtype(), DType::I32);

  std::vector<int> trainHist(10), testHist(10);
  for (int64_t i = 0; i < train.count(); ++i)
    ++trainHist[train.labels.i32()[i]];
  for (int64_t i = 0; i < test.count(); ++i)
    ++testHist[test.labels.i32()[i]];
  EXPECT_EQ(trainHist, std::vector<int>(10, 800));
  EXPECT_EQ(testHist, (std::vector<int>{201, 327, 191, 232, 180, 63, 214, 270, 144, 178}));
  // Round-robin order: 0, 1, ..., 9, 0, 1, ...
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(train.labels.i32()[i], i % 10);

  auto [lo, hi] =
      std::minmax_element(train.features.f32(), train.features.f32() + train.features.numel());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 1.0f);
  // Digits have ink: mean brightness of real MNIST is about 0.13.
  double sum = 0;
  for (int64_t i = 0; i < train.features.numel(); ++i)
    sum += train.features.f32()[i];
  EXPECT_NEAR(sum / train.features.numel(), 0.13, 0.03);
}

TEST_F(DataTest, MnistErrors) {
  std::string dir = sourcePath("data/mnist");
  EXPECT_EQ(errorText(loadMnist(dir, "valid").takeError()),
            "unknown MNIST split 'valid' (expected train or test)");
  EXPECT_EQ(errorText(loadMnist(path("none"), "train").takeError()),
            "MNIST directory " + path("none") + " does not exist");
  EXPECT_EQ(errorText(loadMnist(std::string(dir_), "train").takeError()),
            "missing MNIST file " + path("train-images-idx3-ubyte.gz") +
                " (or train-images-idx3-ubyte)");

  // Train images with test labels: the counts disagree. Plain files work too.
  std::string pixels(3 * 4 * 4, '\0');
  write("t10k-images-idx3-ubyte", idxImages(3, 4, 4, pixels));
  std::string labels = writeGz("t10k-labels-idx1-ubyte.gz", idxLabels("\x01\x02"));
  EXPECT_EQ(errorText(loadMnist(std::string(dir_), "test").takeError()),
            path("t10k-images-idx3-ubyte") + " holds 3 images but " + labels + " holds 2 labels");
  labels = writeGz("t10k-labels-idx1-ubyte.gz", idxLabels(std::string("\x01\x02\x0c", 3)));
  EXPECT_EQ(errorText(loadMnist(std::string(dir_), "test").takeError()),
            labels + ": label 12 at record 2 is out of range [0, 10)");
  labels = writeGz("t10k-labels-idx1-ubyte.gz", idxLabels(std::string("\x01\x02\x09", 3)));
  Dataset d = expectOk(loadMnist(std::string(dir_), "test"));
  EXPECT_EQ(d.count(), 3);
  EXPECT_EQ(d.features.shape(), (Shape{3, 4, 4}));
}

Dataset smallSet(int64_t count) {
  Dataset d;
  d.features = Tensor(DType::F32, {count, 2});
  d.labels = Tensor(DType::I32, {count});
  d.source = "small";
  for (int64_t i = 0; i < count; ++i) {
    d.features.f32()[2 * i] = float(i);
    d.features.f32()[2 * i + 1] = float(-i);
    d.labels.i32()[i] = int32_t(i % 10);
  }
  return d;
}

TEST(Dataset, ValidateLabelsNamesTheFirstBadRecord) {
  Dataset d = smallSet(60);
  expectOk(d.validateLabels(10));
  d.labels.i32()[57] = 12;
  d.labels.i32()[59] = -1;
  EXPECT_EQ(errorText(d.validateLabels(10)),
            "small: label 12 at record 57 is out of range [0, 10)");
  EXPECT_EQ(errorText(d.validateLabels(5)), "small: label 5 at record 5 is out of range [0, 5)");
}

TEST(BatchIterator, EpochsArePermutationsReproducibleFromTheSeed) {
  Dataset d = smallSet(103);
  BatchIterator a(d, 10, 7), b(d, 10, 7), c(d, 10, 8);
  EXPECT_EQ(a.order(), b.order());
  EXPECT_NE(a.order(), c.order());
  std::vector<int64_t> epoch0 = a.order();
  a.startEpoch(1);
  EXPECT_NE(a.order(), epoch0);
  b.startEpoch(1);
  EXPECT_EQ(a.order(), b.order()) << "epoch e depends only on (seed, e)";
  a.startEpoch(0);
  EXPECT_EQ(a.order(), epoch0);
  EXPECT_EQ(a.order(), shuffledOrder(103, 7, 0));

  // An epoch visits every sample exactly once, batch by batch.
  EXPECT_EQ(a.numBatches(/*dropLast=*/true), 10);
  EXPECT_EQ(a.numBatches(/*dropLast=*/false), 11);
  EXPECT_EQ(a.batchLength(9), 10);
  EXPECT_EQ(a.batchLength(10), 3);
  Tensor x(DType::F32, {10, 2}), y(DType::I32, {10});
  std::multiset<int64_t> seen;
  for (int64_t bi = 0; bi < a.numBatches(false); ++bi) {
    expectOk(a.fill(bi, x, y));
    for (int64_t r = 0; r < a.batchLength(bi); ++r) {
      int64_t sample = int64_t(x.f32()[2 * r]);
      EXPECT_EQ(x.f32()[2 * r + 1], -float(sample));
      EXPECT_EQ(y.i32()[r], sample % 10);
      EXPECT_EQ(sample, a.order()[bi * 10 + r]);
      seen.insert(sample);
    }
  }
  EXPECT_EQ(seen.size(), 103u);
  EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 103u);
  // The partial batch zeroes the rows it does not fill.
  EXPECT_EQ(x.f32()[2 * 3], 0.0f);
  EXPECT_EQ(y.i32()[9], 0);

  BatchIterator plain(d, 50, 7, /*shuffle=*/false);
  EXPECT_EQ(plain.order()[42], 42);
}

TEST(BatchIterator, FillChecksTheTargetTensors) {
  Dataset d = smallSet(20);
  BatchIterator it(d, 8, 1);
  Tensor x(DType::F32, {8, 2}), y(DType::I32, {8});
  Tensor flat(DType::F32, {16}), small(DType::F32, {4, 2}), wide(DType::F32, {8, 3});
  EXPECT_EQ(errorText(it.fill(3, x, y)), "small: batch 3 is out of range (the epoch has 3)");
  EXPECT_EQ(errorText(it.fill(0, small, y)),
            "small: a batch of 8 samples of 2 values does not fit in a f32[4,2] features tensor");
  EXPECT_EQ(errorText(it.fill(0, wide, y)),
            "small: a batch of 8 samples of 2 values does not fit in a f32[8,3] features tensor");
  EXPECT_EQ(errorText(it.fill(0, x, flat)),
            "small: labels of a batch of 8 need i32[8] (or f32[8] or f32[8, 1] targets), got "
            "f32[16]");
  expectOk(it.fill(2, x, y)); // 4 samples into 8 rows
}

TEST(BatchIterator, FillsFloatTargetsWithTheLabels) {
  Dataset d = smallSet(20);
  BatchIterator it(d, 8, 1, /*shuffle=*/false);
  Tensor x(DType::F32, {8, 2}), t(DType::F32, {8, 1}), y(DType::I32, {8});
  expectOk(it.fill(0, x, t));
  expectOk(it.fill(0, x, y));
  for (int64_t i = 0; i < 8; ++i)
    EXPECT_EQ(t.f32()[i], static_cast<float>(y.i32()[i])) << "row " << i;
  // Rows past a partial batch are zero.
  expectOk(it.fill(2, x, t));
  for (int64_t i = 4; i < 8; ++i)
    EXPECT_EQ(t.f32()[i], 0.0f);
}

} // namespace
