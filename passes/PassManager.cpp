//===- passes/PassManager.cpp - Runs a pipeline with instrumentation ------===//
//
// run() is one loop over the pipeline. Around each pass it does, in order:
//   1. print the IR before it (--print-ir-before),
//   2. run it, timed with a steady clock,
//   3. verify the graph if the pass reported a change (--verify-each),
//   4. print the IR after it (--print-ir-after-all / --print-ir-after /
//      --print-ir-after-change) and write NN-<pass>.gir (--dump-ir-dir),
//   5. stop if it is the --stop-after pass.
// Verifying comes before printing: a pass that broke the graph may leave uses
// of erased values, which the printer must not follow.
//
// --print-ir-after-change alone prints after every pass that changed the
// graph; together with --print-ir-after-all or --print-ir-after it narrows
// those to the passes that changed it.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <chrono>

namespace gradc::passes {

namespace {

llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::string header(llvm::StringRef when, llvm::StringRef pass) {
  return ("// ----- IR Dump " + when + " " + pass + " ----- //").str();
}

std::string joined(const std::vector<std::string> &names) {
  return names.empty() ? std::string("empty") : llvm::join(names, ", ");
}

/// Writes `headerLine` and the graph to `path`.
llvm::Error writeDump(const std::string &path, const std::string &headerLine,
                      const ir::Graph &g, ir::PrintOptions opts) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return error("cannot write IR dump '" + path + "': " + ec.message());
  os << headerLine << "\n";
  ir::printGraph(g, os, opts);
  os.close();
  if (os.has_error()) {
    std::string msg = os.error().message();
    os.clear_error();
    return error("cannot write IR dump '" + path + "': " + msg);
  }
  return llvm::Error::success();
}

} // namespace

llvm::Error PassManager::setPipeline(const std::vector<std::string> &names) {
  std::vector<std::unique_ptr<Pass>> passes;
  for (const std::string &name : names) {
    std::unique_ptr<Pass> p = createPass(name);
    if (!p) {
      std::vector<std::string> known;
      for (llvm::StringRef k : allPassNames())
        known.push_back(k.str());
      return error("unknown pass '" + name + "' (known: " + joined(known) + ")");
    }
    passes.push_back(std::move(p));
  }
  return setPipeline(std::move(passes));
}

llvm::Error PassManager::setPipeline(std::vector<std::unique_ptr<Pass>> passes) {
  std::vector<std::string> names;
  for (const auto &p : passes)
    names.push_back(p->name().str());
  auto check = [&](llvm::StringRef flag, const std::string &pass) -> llvm::Error {
    if (llvm::is_contained(names, pass))
      return llvm::Error::success();
    return error(llvm::formatv("--{0} names pass '{1}', which is not in the pipeline ({2})",
                               flag, pass, joined(names)));
  };
  for (const std::string &p : inst_.printAfter)
    if (auto e = check("print-ir-after", p))
      return e;
  for (const std::string &p : inst_.printBefore)
    if (auto e = check("print-ir-before", p))
      return e;
  if (!inst_.stopAfter.empty())
    if (auto e = check("stop-after", inst_.stopAfter))
      return e;
  names_ = std::move(names);
  passes_ = std::move(passes);
  return llvm::Error::success();
}

llvm::Error PassManager::run(ir::Graph &g, PassContext &ctx) {
  stopped_ = false;
  ir::PrintOptions printOpts;
  printOpts.locations = inst_.printLocations;

  auto dumpPath = [&](unsigned index, llvm::StringRef name) {
    llvm::SmallString<128> path(inst_.dumpDir);
    std::string file = std::to_string(index);
    if (file.size() < 2)
      file.insert(file.begin(), '0');
    file += "-";
    file += name;
    file += ".gir";
    llvm::sys::path::append(path, file);
    return std::string(path);
  };
  if (!inst_.dumpDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(inst_.dumpDir))
      return error("cannot create IR dump directory '" + inst_.dumpDir +
                   "': " + ec.message());
    if (auto e = writeDump(dumpPath(0, "input"), "// ----- Input IR ----- //", g, printOpts))
      return e;
  }

  bool afterAllChanged = inst_.printAfterChange && !inst_.printAfterAll &&
                         inst_.printAfter.empty();
  std::vector<std::pair<std::string, double>> times;
  for (size_t i = 0; i < passes_.size(); ++i) {
    Pass &pass = *passes_[i];
    const std::string &name = names_[i];
    if (inst_.printBefore.count(name)) {
      out_ << header("Before", name) << "\n";
      ir::printGraph(g, out_, printOpts);
    }

    auto start = std::chrono::steady_clock::now();
    llvm::Expected<bool> changed = pass.run(g, ctx);
    std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - start;
    times.emplace_back(name, ms.count());
    if (!changed)
      return changed.takeError();

    if (*changed && inst_.verifyEach)
      if (llvm::Error e = ir::verifyGraph(g))
        return error("verifier failed after " + name + ": " + llvm::toString(std::move(e)));

    bool print = afterAllChanged || inst_.printAfterAll || inst_.printAfter.count(name);
    if (inst_.printAfterChange && !*changed)
      print = false;
    if (print) {
      out_ << header("After", name) << "\n";
      ir::printGraph(g, out_, printOpts);
    }
    if (!inst_.dumpDir.empty())
      if (auto e = writeDump(dumpPath(i + 1, name), header("After", name), g, printOpts))
        return e;

    if (name == inst_.stopAfter) {
      stopped_ = true;
      break;
    }
  }
  out_.flush();

  if (inst_.timePasses) {
    double total = 0;
    for (auto &[name, ms] : times)
      total += ms;
    err_ << "===- Pass execution timing report -===\n";
    err_ << llvm::format("  Total wall time: %.3f ms\n\n", total);
    err_ << "   Wall (ms)  Pass\n";
    for (auto &[name, ms] : times)
      err_ << llvm::format("  %10.3f  ", ms) << name << "\n";
    err_ << llvm::format("  %10.3f  Total\n", total);
    err_.flush();
  }
  return llvm::Error::success();
}

} // namespace gradc::passes
