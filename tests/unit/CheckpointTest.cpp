//===- tests/unit/CheckpointTest.cpp - Checkpoint files -------------------===//
//
// Round trip; every kind of damage (empty, bad magic, unknown version,
// truncation at every length, any flipped byte, lying section lengths with a
// valid checksum, tensor dims that do not match their bytes) is an error that
// names the file; atomic writes; listing and pruning a directory.
//
//===----------------------------------------------------------------------===//
#include "runtime/AtomicFile.h"
#include "runtime/Checkpoint.h"

#include "tests/TestUtil.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/xxhash.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

using namespace gradc;
using namespace gradc::rt;
using gradc::test::errorText;
using gradc::test::expectOk;

namespace {

CheckpointState sample() {
  CheckpointState c;
  c.fingerprint = "0123456789abcdef";
  c.settings = "batch=4\nlr=0.1\n";
  c.pos = TrainPosition{17, 2, 5, 1.25, 9, 20};
  c.bestDevLoss = 0.5;
  c.badEpochs = 1;
  c.bestEpoch = 2;
  c.history.push_back({1, 12, 0.9, 0.5, 0.8, NAN, 0.1, 1.5});
  Tensor w(DType::F32, {2, 3});
  for (int i = 0; i < 6; ++i)
    w.f32()[i] = 0.5f * i - 1;
  c.params["W"] = w;
  Tensor m(DType::F32, {2, 3});
  std::memset(m.data(), 0, m.bytes());
  m.f32()[4] = 3;
  c.state["W.m"] = m;
  Tensor e(DType::I32, {0});
  c.params["empty"] = e;
  return c;
}

/// Rewrites the payload checksum so that only the structure checks can fail.
void rehash(std::string &bytes) {
  uint64_t h = llvm::xxh3_64bits(llvm::StringRef(bytes).substr(32));
  std::memcpy(&bytes[24], &h, 8);
}

std::string tempDir(const char *name) {
  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory(name, dir));
  return std::string(dir);
}

} // namespace

TEST(Checkpoint, RoundTrip) {
  CheckpointState c = sample();
  auto d = expectOk(decodeCheckpoint(encodeCheckpoint(c), "x.gradc"));
  EXPECT_EQ(d.fingerprint, c.fingerprint);
  EXPECT_EQ(d.settings, c.settings);
  EXPECT_EQ(d.pos, c.pos);
  EXPECT_EQ(d.bestDevLoss, 0.5);
  EXPECT_EQ(d.badEpochs, 1);
  EXPECT_EQ(d.bestEpoch, 2);
  ASSERT_EQ(d.history.size(), 1u);
  EXPECT_EQ(d.history[0].step, 12);
  EXPECT_TRUE(std::isnan(d.history[0].devAcc));
  ASSERT_EQ(d.params.size(), 2u);
  ASSERT_EQ(d.state.size(), 1u);
  EXPECT_EQ(d.params["W"].shape(), (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(d.params["W"].data(), c.params["W"].data(), 24), 0);
  EXPECT_EQ(d.state["W.m"].f32()[4], 3.0f);
  EXPECT_EQ(d.params["empty"].dtype(), DType::I32);
}

TEST(Checkpoint, EmptyBadMagicAndVersion) {
  EXPECT_EQ(errorText(decodeCheckpoint("", "c.gradc").takeError()),
            "c.gradc: the checkpoint file is empty");
  EXPECT_EQ(errorText(decodeCheckpoint("PK\x03\x04 not a checkpoint at all........", "c.gradc")
                          .takeError()),
            "c.gradc: not a gradc checkpoint (bad magic)");
  std::string b = encodeCheckpoint(sample());
  b[8] = 7;
  EXPECT_EQ(errorText(decodeCheckpoint(b, "c.gradc").takeError()),
            "c.gradc: unsupported checkpoint version 7 (this gradc reads version 1)");
}

TEST(Checkpoint, EveryTruncationIsRefused) {
  std::string b = encodeCheckpoint(sample());
  for (size_t n = 0; n < b.size(); ++n) {
    auto d = decodeCheckpoint(llvm::StringRef(b).substr(0, n), "t.gradc");
    ASSERT_FALSE(static_cast<bool>(d)) << "prefix of " << n << " bytes was accepted";
    EXPECT_TRUE(llvm::StringRef(errorText(d.takeError())).starts_with("t.gradc: "));
  }
  auto d = decodeCheckpoint(llvm::StringRef(b).substr(0, b.size() - 10), "t.gradc");
  EXPECT_EQ(errorText(d.takeError()),
            "t.gradc: truncated or padded checkpoint: the header announces " +
                std::to_string(b.size() - 32) + " payload bytes, the file holds " +
                std::to_string(b.size() - 42));
}

TEST(Checkpoint, EveryFlippedByteIsRefused) {
  std::string b = encodeCheckpoint(sample());
  for (size_t i = 0; i < b.size(); ++i) {
    std::string bad = b;
    bad[i] ^= 0x20;
    EXPECT_FALSE(static_cast<bool>(decodeCheckpoint(bad, "f.gradc"))) << "byte " << i;
    consumeError(decodeCheckpoint(bad, "f.gradc").takeError());
  }
  std::string bad = b;
  bad[b.size() - 3] ^= 1;
  EXPECT_EQ(errorText(decodeCheckpoint(bad, "f.gradc").takeError()),
            "f.gradc: checksum mismatch: the checkpoint is corrupted");
}

TEST(Checkpoint, LyingLengthsWithAValidChecksumAreRefused) {
  // A section claiming 2^60 bytes: refused without allocating.
  std::string b = encodeCheckpoint(sample());
  uint64_t huge = uint64_t(1) << 60;
  std::memcpy(&b[32 + 4 + 11], &huge, 8); // the "fingerprint" section's length
  rehash(b);
  EXPECT_EQ(errorText(decodeCheckpoint(b, "l.gradc").takeError()),
            "l.gradc: malformed section table");

  // A tensor whose dims promise more elements than its bytes.
  CheckpointState c = sample();
  c.params.clear();
  c.state.clear();
  std::string t = encodeCheckpoint(c);
  std::string data;
  data += char(0); // f32
  data += char(2); // rank 2
  int64_t dims[2] = {int64_t(1) << 40, int64_t(1) << 40};
  data.append(reinterpret_cast<const char *>(dims), 16);
  data.append(8, '\0');
  std::string name = "param:W";
  uint32_t nl = name.size();
  uint64_t dl = data.size();
  t.append(reinterpret_cast<const char *>(&nl), 4);
  t += name;
  t.append(reinterpret_cast<const char *>(&dl), 8);
  t += data;
  uint64_t len = t.size() - 32;
  std::memcpy(&t[16], &len, 8);
  rehash(t);
  EXPECT_EQ(errorText(decodeCheckpoint(t, "d.gradc").takeError()),
            "d.gradc: section 'param:W' has dims that do not match its size");
}

TEST(Checkpoint, WriteReadListPrune) {
  std::string dir = tempDir("gradc-ckpt");
  CheckpointState c = sample();
  for (int64_t step : {30, 10, 20, 40}) {
    c.pos.step = step;
    expectOk(writeCheckpoint(checkpointPath(dir, step), c));
  }
  // A leftover temporary file of an interrupted save is not a checkpoint.
  std::ofstream(dir + "/.ckpt-0000000050.gradc.tmp-123") << "partial";
  auto all = expectOk(listCheckpoints(dir));
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all.front(), checkpointPath(dir, 10));
  EXPECT_EQ(all.back(), checkpointPath(dir, 40));
  EXPECT_EQ(expectOk(readCheckpoint(all.back())).pos.step, 40);
  expectOk(pruneCheckpoints(dir, 2));
  all = expectOk(listCheckpoints(dir));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all.front(), checkpointPath(dir, 30));
  EXPECT_FALSE(llvm::sys::fs::exists(dir + "/.ckpt-0000000050.gradc.tmp-123"));
  EXPECT_TRUE(expectOk(listCheckpoints(dir + "/missing")).empty());
  llvm::sys::fs::remove_directories(dir);
}

TEST(AtomicFile, ReplacesWholeOrNotAtAll) {
  std::string dir = tempDir("gradc-atomic");
  std::string path = dir + "/f.txt";
  expectOk(writeFileAtomically(path, "old"));
  expectOk(writeFileAtomically(path, "new content"));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "new content");
  // Writing into a missing directory fails and names the temporary file.
  std::string err = errorText(writeFileAtomically(dir + "/no/such/f.txt", "x"));
  EXPECT_NE(err.find("cannot create"), std::string::npos) << err;
  EXPECT_TRUE(isAtomicTempName(".f.txt.tmp-42"));
  EXPECT_FALSE(isAtomicTempName("ckpt-0000000001.gradc"));
  llvm::sys::fs::remove_directories(dir);
}
