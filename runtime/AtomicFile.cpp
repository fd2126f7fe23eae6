//===- runtime/AtomicFile.cpp - Crash-safe file replacement ---------------===//
#include "runtime/AtomicFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

namespace gradc::rt {

static llvm::Error sysError(const llvm::Twine &what) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 what + ": " + std::strerror(errno));
}

bool isAtomicTempName(llvm::StringRef name) {
  return name.starts_with(".") && name.contains(".tmp-");
}

static bool writeAll(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

/// The test hook of the header comment.
static void maybePause(const std::string &tmp) {
  const char *env = std::getenv("GRADC_TEST_PAUSE_IN_SAVE");
  if (!env || !*env)
    return;
  int seconds = std::clamp(std::atoi(env), 0, 60);
  std::fprintf(stderr, "gradc: test hook: pausing in the middle of writing %s\n", tmp.c_str());
  std::fflush(stderr);
  ::sleep(static_cast<unsigned>(seconds));
}

llvm::Error writeFileAtomically(llvm::StringRef path, llvm::StringRef bytes, bool pausable) {
  llvm::SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  std::string tmp = (dir + "/." + llvm::sys::path::filename(path) + ".tmp-" +
                     std::to_string(::getpid()))
                        .str();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return sysError("cannot create " + tmp);
  auto fail = [&](const llvm::Twine &what) {
    llvm::Error e = sysError(what);
    ::close(fd);
    ::unlink(tmp.c_str());
    return e;
  };
  size_t half = pausable ? bytes.size() / 2 : bytes.size();
  if (!writeAll(fd, bytes.data(), half))
    return fail("cannot write " + tmp);
  if (pausable) {
    maybePause(tmp);
    if (!writeAll(fd, bytes.data() + half, bytes.size() - half))
      return fail("cannot write " + tmp);
  }
  if (::fsync(fd) != 0)
    return fail("cannot sync " + tmp);
  if (::close(fd) != 0) {
    llvm::Error e = sysError("cannot close " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.str().c_str()) != 0) {
    llvm::Error e = sysError("cannot rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  // Make the rename itself durable.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return llvm::Error::success();
}

} // namespace gradc::rt
