//===- runtime/Checkpoint.cpp - Training checkpoints ----------------------===//
//
// A Writer appends little-endian fields to a string; a Reader walks bytes
// with a bounds check before every read, so no length field in a damaged
// file can make it read out of bounds or allocate more than the file holds.
//
//===----------------------------------------------------------------------===//
#include "runtime/Checkpoint.h"

#include "runtime/AtomicFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <cstring>

namespace gradc::rt {

namespace {

llvm::Error err(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

constexpr char kMagic[8] = {'G', 'R', 'A', 'D', 'C', 'K', 'P', 'T'};
constexpr size_t kHeaderBytes = 32;

struct Writer {
  std::string out;
  template <typename T> void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T)); // the dev machines are little-endian
    out.append(b, sizeof(T));
  }
  void bytes(llvm::StringRef s) { out.append(s.data(), s.size()); }
  void section(llvm::StringRef name, llvm::StringRef data) {
    put<uint32_t>(static_cast<uint32_t>(name.size()));
    bytes(name);
    put<uint64_t>(data.size());
    bytes(data);
  }
};

struct Reader {
  llvm::StringRef data;
  size_t at = 0;
  bool has(uint64_t n) const { return n <= data.size() - at; }
  template <typename T> bool get(T &v) {
    if (!has(sizeof(T)))
      return false;
    std::memcpy(&v, data.data() + at, sizeof(T));
    at += sizeof(T);
    return true;
  }
  bool take(uint64_t n, llvm::StringRef &s) {
    if (!has(n))
      return false;
    s = data.substr(at, n);
    at += n;
    return true;
  }
  bool done() const { return at == data.size(); }
};

std::string encodeTensor(const Tensor &t) {
  Writer w;
  w.put<uint8_t>(static_cast<uint8_t>(t.dtype()));
  w.put<uint8_t>(static_cast<uint8_t>(t.shape().size()));
  for (int64_t d : t.shape())
    w.put<int64_t>(d);
  w.bytes(llvm::StringRef(static_cast<const char *>(t.data()), t.bytes()));
  return std::move(w.out);
}

llvm::Expected<Tensor> decodeTensor(llvm::StringRef data, const std::string &what) {
  Reader r{data};
  uint8_t dtype = 0, rank = 0;
  if (!r.get(dtype) || !r.get(rank))
    return err(what + " is truncated");
  if (dtype > static_cast<uint8_t>(DType::I32))
    return err(llvm::formatv("{0} has an unknown dtype code {1}", what, dtype));
  Shape shape(rank);
  for (int64_t &d : shape)
    if (!r.get(d))
      return err(what + " is truncated");
  DType dt = static_cast<DType>(dtype);
  // Check the byte count the dims imply against what is there before allocating.
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > (data.size() / sizeOf(dt)) / static_cast<uint64_t>(d)))
      return err(what + " has dims that do not match its size");
    n *= static_cast<uint64_t>(d);
  }
  if (n * sizeOf(dt) != data.size() - r.at)
    return err(llvm::formatv("{0}: shape {1} needs {2} bytes, the section has {3}", what,
                             shapeToString(shape), n * sizeOf(dt), data.size() - r.at));
  auto t = Tensor::create(dt, shape, what);
  if (!t)
    return t.takeError();
  if (t->bytes())
    std::memcpy(t->data(), data.data() + r.at, t->bytes());
  return t;
}

} // namespace

std::string encodeCheckpoint(const CheckpointState &c) {
  Writer p;
  p.section("fingerprint", c.fingerprint);
  p.section("settings", c.settings);
  Writer pos;
  for (int64_t v : {c.pos.step, c.pos.epoch, c.pos.batch, c.pos.correct, c.pos.samples,
                    c.badEpochs, c.bestEpoch})
    pos.put<int64_t>(v);
  pos.put<double>(c.pos.lossSum);
  pos.put<double>(c.bestDevLoss);
  p.section("position", pos.out);
  Writer hist;
  hist.put<uint64_t>(c.history.size());
  for (const EpochRecord &e : c.history) {
    hist.put<int64_t>(e.epoch);
    hist.put<int64_t>(e.step);
    for (double v : {e.trainLoss, e.trainAcc, e.devLoss, e.devAcc, e.lr, e.seconds})
      hist.put<double>(v);
  }
  p.section("history", hist.out);
  for (const auto &[name, t] : c.params)
    p.section("param:" + name, encodeTensor(t));
  for (const auto &[name, t] : c.state)
    p.section("state:" + name, encodeTensor(t));

  Writer file;
  file.bytes(llvm::StringRef(kMagic, sizeof kMagic));
  file.put<uint32_t>(kCheckpointVersion);
  file.put<uint32_t>(0);
  file.put<uint64_t>(p.out.size());
  file.put<uint64_t>(llvm::xxh3_64bits(p.out));
  file.bytes(p.out);
  return std::move(file.out);
}

llvm::Expected<CheckpointState> decodeCheckpoint(llvm::StringRef bytes, llvm::StringRef path) {
  std::string where = path.str();
  if (bytes.empty())
    return err(where + ": the checkpoint file is empty");
  Reader h{bytes};
  llvm::StringRef magic;
  if (!h.take(sizeof kMagic, magic) || magic != llvm::StringRef(kMagic, sizeof kMagic))
    return err(where + ": not a gradc checkpoint (bad magic)");
  uint32_t version = 0, reserved = 0;
  uint64_t length = 0, hash = 0;
  if (!h.get(version) || !h.get(reserved) || !h.get(length) || !h.get(hash))
    return err(where + ": truncated checkpoint header");
  if (version != kCheckpointVersion)
    return err(llvm::formatv("{0}: unsupported checkpoint version {1} (this gradc reads "
                             "version {2})",
                             where, version, kCheckpointVersion));
  if (reserved != 0)
    return err(where + ": corrupted checkpoint header (reserved field is not 0)");
  uint64_t have = bytes.size() - kHeaderBytes;
  if (length != have)
    return err(llvm::formatv("{0}: truncated or padded checkpoint: the header announces {1} "
                             "payload bytes, the file holds {2}",
                             where, length, have));
  llvm::StringRef payload = bytes.substr(kHeaderBytes);
  if (llvm::xxh3_64bits(payload) != hash)
    return err(where + ": checksum mismatch: the checkpoint is corrupted");

  CheckpointState c;
  bool sawPosition = false, sawFingerprint = false;
  Reader r{payload};
  while (!r.done()) {
    uint32_t nameLen = 0;
    uint64_t dataLen = 0;
    llvm::StringRef name, data;
    if (!r.get(nameLen) || !r.take(nameLen, name) || !r.get(dataLen) || !r.take(dataLen, data))
      return err(where + ": malformed section table");
    std::string what = (where + ": section '" + name + "'").str();
    if (name == "fingerprint") {
      c.fingerprint = data.str();
      sawFingerprint = true;
    } else if (name == "settings") {
      c.settings = data.str();
    } else if (name == "position") {
      Reader s{data};
      bool ok = s.get(c.pos.step) && s.get(c.pos.epoch) && s.get(c.pos.batch) &&
                s.get(c.pos.correct) && s.get(c.pos.samples) && s.get(c.badEpochs) &&
                s.get(c.bestEpoch) && s.get(c.pos.lossSum) && s.get(c.bestDevLoss) && s.done();
      if (!ok || c.pos.step < 0 || c.pos.epoch < 0 || c.pos.batch < 0)
        return err(what + " is malformed");
      sawPosition = true;
    } else if (name == "history") {
      Reader s{data};
      uint64_t n = 0;
      constexpr uint64_t kRecordBytes = 8 * 8;
      if (!s.get(n) || n > data.size() / kRecordBytes)
        return err(what + " is malformed");
      c.history.resize(n);
      for (EpochRecord &e : c.history)
        if (!s.get(e.epoch) || !s.get(e.step) || !s.get(e.trainLoss) || !s.get(e.trainAcc) ||
            !s.get(e.devLoss) || !s.get(e.devAcc) || !s.get(e.lr) || !s.get(e.seconds))
          return err(what + " is malformed");
      if (!s.done())
        return err(what + " is malformed");
    } else if (name.starts_with("param:") || name.starts_with("state:")) {
      auto t = decodeTensor(data, what);
      if (!t)
        return t.takeError();
      auto &into = name.starts_with("param:") ? c.params : c.state;
      into[name.substr(6).str()] = std::move(*t);
    } else {
      return err(what + " is unknown to this gradc");
    }
  }
  if (!sawPosition || !sawFingerprint)
    return err(where + ": the checkpoint lacks its position or fingerprint");
  return c;
}

llvm::Expected<CheckpointState> readCheckpoint(llvm::StringRef path) {
  // Only regular files: reading a pipe or a device would have no size bound.
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return err(path + ": cannot read the checkpoint: " + ec.message());
  if (!llvm::sys::fs::is_regular_file(st))
    return err(path + ": not a regular file");
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return err(path + ": cannot read the checkpoint: " + buf.getError().message());
  return decodeCheckpoint((*buf)->getBuffer(), path);
}

llvm::Error writeCheckpoint(llvm::StringRef path, const CheckpointState &c) {
  return writeFileAtomically(path, encodeCheckpoint(c), /*pausable=*/true);
}

std::string checkpointPath(llvm::StringRef dir, int64_t step) {
  return llvm::formatv("{0}/ckpt-{1:d10}.gradc", dir, step).str();
}

llvm::Expected<std::vector<std::string>> listCheckpoints(llvm::StringRef dir) {
  std::vector<std::string> found;
  if (!llvm::sys::fs::exists(dir))
    return found;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (name.starts_with("ckpt-") && name.ends_with(".gradc"))
      found.push_back(it->path());
  }
  if (ec)
    return err(dir + ": cannot list the checkpoint directory: " + ec.message());
  std::sort(found.begin(), found.end()); // zero-padded steps sort as numbers
  return found;
}

llvm::Error pruneCheckpoints(llvm::StringRef dir, int64_t keep) {
  auto all = listCheckpoints(dir);
  if (!all)
    return all.takeError();
  for (size_t i = 0; i + static_cast<size_t>(keep) < all->size(); ++i)
    if (std::error_code ec = llvm::sys::fs::remove((*all)[i]))
      return err((*all)[i] + ": cannot remove an old checkpoint: " + ec.message());
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    if (isAtomicTempName(llvm::sys::path::filename(it->path())))
      llvm::sys::fs::remove(it->path());
  return llvm::Error::success();
}

} // namespace gradc::rt
