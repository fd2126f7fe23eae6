//===- tools/gradc/Data.cpp - Data sets named on the command line ---------===//
#include "tools/gradc/Data.h"

#include "tools/gradc/Driver.h"

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
