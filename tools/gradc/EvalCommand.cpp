//===- tools/gradc/EvalCommand.cpp - gradc eval, gradc export-params ------===//
//
// eval: compiles the model's eval step, loads a param directory, and prints
// the loss and accuracy over every sample of the data set, and for a
// classifier the confusion matrix (rows: true class, columns: predicted).
// export-params: writes the model params of a checkpoint as a param
// directory (<name>.npy), without the optimizer state.
//
//===----------------------------------------------------------------------===//
#include "tools/gradc/Data.h"
#include "tools/gradc/Driver.h"

#include "frontend/ModelLoader.h"
#include "runtime/Checkpoint.h"
#include "runtime/ParamIO.h"
#include "runtime/Trainer.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

namespace gradc::driver {

/// `v` right-aligned in `width` columns.
template <typename T> static std::string right(const T &v, int width) {
  std::string s;
  if constexpr (std::is_arithmetic_v<T>)
    s = std::to_string(v);
  else
    s = std::string(v);
  return std::string(std::max<int>(0, width - static_cast<int>(s.size())), ' ') + s;
}

llvm::Error runEval(const EvalOptions &o) {
  auto g = buildGraph(o.model, Mode::Eval);
  if (!g)
    return g.takeError();
  rt::TrainerConfig cfg;
  if (auto e = pickDataInputs(**g, cfg.features, cfg.labels))
    return e;
  cfg.binaryThreshold = binaryThreshold(**g);
  int64_t classes = labelClasses(**g, cfg.labels);
  auto exe = compileEvalStep(o.model);
  if (!exe)
    return exe.takeError();
  rt::ParamStore params;
  if (auto e = rt::loadParams(o.params, (*exe)->buffers(), params))
    return e;
  auto data = loadData(o.data, DataUse::Eval);
  if (!data)
    return data.takeError();
  const rt::Dataset &set = data->main;
  rt::Trainer trainer(**exe, **exe, params, cfg);
  if (auto e = trainer.check(set))
    return e;
  if (classes > 0)
    if (auto e = set.validateLabels(classes))
      return e;
  auto st = trainer.evaluate(set, o.confusion);
  if (!st)
    return st.takeError();

  auto &os = llvm::outs();
  os << llvm::formatv("{0}: {1} samples of {2}\n", (*g)->name, st->samples, set.source);
  os << llvm::formatv("loss: {0:F6}\n", st->loss);
  if (std::isnan(st->accuracy))
    return llvm::Error::success();
  os << llvm::formatv("accuracy: {0:F2}% ({1} / {2})\n", 100 * st->accuracy,
                      static_cast<int64_t>(std::llround(st->accuracy * st->samples)),
                      st->samples);
  if (!o.confusion || st->classes == 0)
    return llvm::Error::success();
  int64_t c = st->classes;
  int64_t most = *std::max_element(st->confusion.begin(), st->confusion.end());
  int width = std::max<int>(static_cast<int>(std::to_string(most).size()), 3) + 1;
  os << "confusion matrix (rows: true class, columns: predicted class)\n";
  os << llvm::formatv("{0,-6}", "");
  for (int64_t p = 0; p < c; ++p)
    os << right(p, width);
  os << right("recall", 9) << "\n";
  for (int64_t t = 0; t < c; ++t) {
    os << llvm::formatv("{0,-6}", t);
    int64_t row = 0;
    for (int64_t p = 0; p < c; ++p) {
      int64_t n = st->confusion[t * c + p];
      row += n;
      os << right(n, width);
    }
    std::string recall = row ? llvm::formatv("{0:F1}%", 100.0 * st->confusion[t * c + t] / row).str()
                             : std::string("-");
    os << right(recall, 9) << "\n";
  }
  return llvm::Error::success();
}

llvm::Error runExportParams(const ExportParamsOptions &o) {
  auto c = rt::readCheckpoint(o.checkpoint);
  if (!c)
    return c.takeError();
  rt::ParamStore params;
  for (auto &[name, t] : c->params)
    params.set(name, std::move(t));
  if (auto e = rt::saveParams(o.outputDir, params))
    return e;
  llvm::outs() << llvm::formatv("wrote {0} params (step {1}) to {2}\n", c->params.size(),
                                c->pos.step, o.outputDir);
  return llvm::Error::success();
}

} // namespace gradc::driver
