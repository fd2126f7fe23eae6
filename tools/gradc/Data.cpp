//===- tools/gradc/Data.cpp - Data sets named on the command line ---------===//
#include "tools/gradc/Data.h"

#include "tools/gradc/Driver.h"

#include "runtime/Csv.h"

#include "llvm/ADT/StringRef.h"

#include <cstdlib>

namespace gradc::driver {

/// The bundled MNIST digits: $GRADC_DATA_DIR/mnist, else the source tree's.
static std::string bundledMnistDir() {
  if (const char *env = std::getenv("GRADC_DATA_DIR"))
    return (llvm::Twine(env) + "/mnist").str();
  return GRADC_SOURCE_DIR "/data/mnist";
}

llvm::Expected<LoadedData> loadData(const std::string &spec, DataUse use) {
  LoadedData d;
  llvm::StringRef s(spec);
  if (s.empty())
    return error("--data is empty");
  if (s.ends_with_insensitive(".csv")) {
    auto set = rt::loadCsv(spec);
    if (!set)
      return set.takeError();
    d.main = std::move(*set);
    return d;
  }
  if (s.contains(',')) {
    auto [x, y] = s.split(',');
    if (!x.ends_with(".npy") || !y.ends_with(".npy") || y.contains(','))
      return error("--data '" + spec + "': expected X.npy,Y.npy (features, then labels)");
    auto set = rt::loadNpyPair(x, y);
    if (!set)
      return set.takeError();
    d.main = std::move(*set);
    return d;
  }
  if (s.ends_with(".npy"))
    return error("--data '" + spec + "': a .npy data set is two files, X.npy,Y.npy");
  std::string dir = spec == "mnist" ? bundledMnistDir() : spec;
  if (use == DataUse::Eval) {
    auto test = rt::loadMnist(dir, "test");
    if (!test)
      return test.takeError();
    d.main = std::move(*test);
    return d;
  }
  auto train = rt::loadMnist(dir, "train");
  if (!train)
    return train.takeError();
  auto test = rt::loadMnist(dir, "test");
  if (!test)
    return test.takeError();
  d.main = std::move(*train);
  d.test = std::move(*test);
  return d;
}

} // namespace gradc::driver
