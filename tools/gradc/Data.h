//===- tools/gradc/Data.h - Data sets named on the command line ---*- C++ -*-===//
//
// `--data SPEC` names a labelled data set:
//   mnist            the bundled digits ($GRADC_DATA_DIR/mnist or data/mnist)
//   DIR              MNIST-style IDX files: train-* (training) and t10k-* (test)
//   FILE.csv         numeric features and an integer label column (runtime/Csv.h)
//   X.npy,Y.npy      features (f32 [count, ...]) and labels (integers [count])
// For training, an IDX directory gives a training set and a test set; the
// other formats give a training set only. For evaluation (`gradc eval`,
// `--dev-data`), an IDX directory gives its test split.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"

#include "llvm/Support/Error.h"

#include <optional>
#include <string>

namespace gradc::driver {

struct LoadedData {
  rt::Dataset main;                // training set, or the set to evaluate
  std::optional<rt::Dataset> test; // IDX directories: the t10k split, for training
};

enum class DataUse { Train, Eval };

llvm::Expected<LoadedData> loadData(const std::string &spec, DataUse use);

} // namespace gradc::driver
