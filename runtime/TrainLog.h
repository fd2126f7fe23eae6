//===- runtime/TrainLog.h - Per-epoch CSV log and SVG plot ----*- C++ -*-===//
//
// --log-csv writes one row per epoch: epoch, step, train_loss, train_acc,
// dev_loss, dev_acc, lr, seconds (numbers in full precision, %.17g, so two
// runs compare bit for bit; empty cells where a value does not exist).
// --plot draws the same history as a self-contained SVG: a loss panel and an
// accuracy panel side by side, train solid and dev dashed, with axes, ticks,
// labels and a legend. Both files are rewritten atomically after every epoch,
// so they are complete whenever a run stops.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Trainer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace gradc::rt {

std::string renderCsv(const std::vector<EpochRecord> &history);
/// `title` heads the figure (the model's name).
std::string renderPlot(const std::vector<EpochRecord> &history, llvm::StringRef title);

llvm::Error writeCsv(llvm::StringRef path, const std::vector<EpochRecord> &history);
llvm::Error writePlot(llvm::StringRef path, const std::vector<EpochRecord> &history,
                      llvm::StringRef title);

} // namespace gradc::rt
