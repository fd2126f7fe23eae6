//===- runtime/TrainLog.cpp - Per-epoch CSV log and SVG plot ----------===//
//
// The plot: each panel maps [x0, x1] x [y0, y1] to its plot box; the axis
// ranges are rounded out to "nice" tick steps (1, 2 or 5 times a power of
// ten, about five ticks), the x axis counts epochs from 1. Accuracy is drawn
// in percent. A series with a single point is drawn as a dot.
//
//===----------------------------------------------------------------------===//
#include "runtime/TrainLog.h"

#include "runtime/AtomicFile.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace gradc::rt {

namespace {

std::string full(double v) {
  if (std::isnan(v))
    return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string tickLabel(double v, double step) {
  char buf[40];
  int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 8), v);
  return buf;
}

double niceStep(double range, int ticks) {
  double raw = range / ticks;
  double p = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw)
      return m * p;
  return 10 * p;
}

std::string escape(llvm::StringRef s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else if (static_cast<unsigned char>(c) >= 0x20)
      out += c;
  }
  return out;
}

struct Series {
  const char *label;
  const char *color;
  bool dashed;
  std::function<double(const EpochRecord &)> value;
};

/// One panel at (left, top) of size w x h (plot box inside margins).
void panel(std::string &svg, const std::vector<EpochRecord> &h, double left, double top,
           double w, double hgt, const char *title, const char *ylabel,
           const std::vector<Series> &series, bool percentAxis, bool legendBottom) {
  double lo = INFINITY, hi = -INFINITY;
  for (const Series &s : series)
    for (const EpochRecord &r : h) {
      double v = s.value(r);
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  svg += llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle' font-size='15' "
                       "font-weight='bold'>{2}</text>\n",
                       left + w / 2, top - 12, title);
  svg += llvm::formatv("<rect x='{0}' y='{1}' width='{2}' height='{3}' fill='white' "
                       "stroke='#444'/>\n",
                       left, top, w, hgt);
  if (!std::isfinite(lo)) {
    svg += llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle' fill='#888'>no data"
                         "</text>\n",
                         left + w / 2, top + hgt / 2);
    return;
  }
  if (percentAxis) {
    lo = std::max(0.0, lo);
    hi = std::min(100.0, hi);
  }
  if (hi - lo < 1e-12) {
    double pad = std::max(std::fabs(hi) * 0.05, 1e-3);
    lo -= pad;
    hi += pad;
  }
  double ystep = niceStep(hi - lo, 5);
  double y0 = std::floor(lo / ystep) * ystep, y1 = std::ceil(hi / ystep) * ystep;
  double x0 = 1, x1 = std::max<double>(2, static_cast<double>(h.back().epoch));
  double xstep = std::max(1.0, niceStep(x1 - x0, 8));
  auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * w; };
  auto Y = [&](double y) { return top + hgt - (y - y0) / (y1 - y0) * hgt; };
  // Grid and ticks.
  for (double y = y0; y <= y1 + ystep / 2; y += ystep) {
    svg += llvm::formatv("<line x1='{0}' y1='{1}' x2='{2}' y2='{1}' stroke='#e4e4e4'/>\n",
                         left, Y(y), left + w);
    svg += llvm::formatv("<line x1='{0}' y1='{1}' x2='{2}' y2='{1}' stroke='#444'/>\n",
                         left - 5, Y(y), left);
    svg += llvm::formatv("<text x='{0}' y='{1}' text-anchor='end' font-size='12'>{2}</text>\n",
                         left - 8, Y(y) + 4, tickLabel(y, ystep));
  }
  for (double x = x0; x <= x1 + 1e-9; x += xstep) {
    svg += llvm::formatv("<line x1='{0}' y1='{1}' x2='{0}' y2='{2}' stroke='#444'/>\n", X(x),
                         top + hgt, top + hgt + 5);
    svg += llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle' font-size='12'>{2}"
                         "</text>\n",
                         X(x), top + hgt + 19, tickLabel(x, 1));
  }
  svg += llvm::formatv("<text x='{0}' y='{1}' text-anchor='middle' font-size='13'>epoch"
                       "</text>\n",
                       left + w / 2, top + hgt + 40);
  svg += llvm::formatv("<text transform='translate({0},{1}) rotate(-90)' text-anchor='middle' "
                       "font-size='13'>{2}</text>\n",
                       left - 52, top + hgt / 2, ylabel);
  // Curves.
  std::vector<const Series *> legend;
  for (const Series &s : series) {
    std::string pts;
    int n = 0;
    for (const EpochRecord &r : h) {
      double v = s.value(r);
      if (!std::isfinite(v))
        continue;
      pts += llvm::formatv("{0:F1},{1:F1} ", X(static_cast<double>(r.epoch)), Y(v)).str();
      ++n;
    }
    if (n == 0)
      continue;
    const char *dash = s.dashed ? " stroke-dasharray='7,4'" : "";
    svg += llvm::formatv("<polyline fill='none' stroke='{0}' stroke-width='2.2'{1} "
                         "points='{2}'/>\n",
                         s.color, dash, pts);
    for (const EpochRecord &r : h)
      if (std::isfinite(s.value(r)))
        svg += llvm::formatv("<circle cx='{0:F1}' cy='{1:F1}' r='3' fill='{2}'/>\n",
                             X(static_cast<double>(r.epoch)), Y(s.value(r)), s.color);
    legend.push_back(&s);
  }
  // The legend sits in the corner the curves usually leave empty: top right
  // for losses (falling), bottom right for accuracies (rising).
  if (legend.empty())
    return;
  double boxH = 20.0 * legend.size() + 8, boxX = left + w - 130;
  double boxY = legendBottom ? top + hgt - boxH - 8 : top + 8;
  svg += llvm::formatv("<rect x='{0}' y='{1}' width='122' height='{2}' fill='white' "
                       "fill-opacity='0.9' stroke='#bbb'/>\n",
                       boxX, boxY, boxH);
  for (size_t i = 0; i < legend.size(); ++i) {
    double ly = boxY + 14 + 20.0 * i, lx = boxX + 8;
    const char *dash = legend[i]->dashed ? " stroke-dasharray='7,4'" : "";
    svg += llvm::formatv("<line x1='{0}' y1='{1}' x2='{2}' y2='{1}' stroke='{3}' "
                         "stroke-width='2.2'{4}/>\n",
                         lx, ly, lx + 28, legend[i]->color, dash);
    svg += llvm::formatv("<text x='{0}' y='{1}' font-size='12'>{2}</text>\n", lx + 34, ly + 4,
                         legend[i]->label);
  }
}

} // namespace

std::string renderCsv(const std::vector<EpochRecord> &history) {
  std::string out = "epoch,step,train_loss,train_acc,dev_loss,dev_acc,lr,seconds\n";
  for (const EpochRecord &r : history)
    out += llvm::formatv("{0},{1},{2},{3},{4},{5},{6},{7}\n", r.epoch, r.step, full(r.trainLoss),
                         full(r.trainAcc), full(r.devLoss), full(r.devAcc), full(r.lr),
                         llvm::formatv("{0:F3}", r.seconds).str())
               .str();
  return out;
}

std::string renderPlot(const std::vector<EpochRecord> &h, llvm::StringRef title) {
  const double W = 1000, H = 430;
  std::string svg = llvm::formatv("<svg xmlns='http://www.w3.org/2000/svg' width='{0}' "
                                  "height='{1}' viewBox='0 0 {0} {1}' "
                                  "font-family='DejaVu Sans, Arial, sans-serif'>\n",
                                  W, H)
                        .str();
  svg += llvm::formatv("<rect width='{0}' height='{1}' fill='white'/>\n", W, H);
  svg += llvm::formatv("<text x='{0}' y='26' text-anchor='middle' font-size='17'>{1}: "
                       "training curves</text>\n",
                       W / 2, escape(title));
  if (h.empty()) {
    svg += "<text x='500' y='215' text-anchor='middle' fill='#888'>no epochs yet</text>\n";
    return svg + "</svg>\n";
  }
  auto pct = [](double v) { return v * 100; };
  panel(svg, h, 80, 70, 390, 300, "Loss", "loss",
        {{"train loss", "#1f77b4", false, [](const EpochRecord &r) { return r.trainLoss; }},
         {"dev loss", "#d62728", true, [](const EpochRecord &r) { return r.devLoss; }}},
        false, false);
  panel(svg, h, 580, 70, 390, 300, "Accuracy", "accuracy (%)",
        {{"train acc", "#1f77b4", false,
          [pct](const EpochRecord &r) { return pct(r.trainAcc); }},
         {"dev acc", "#d62728", true,
          [pct](const EpochRecord &r) { return pct(r.devAcc); }}},
        true, true);
  return svg + "</svg>\n";
}

llvm::Error writeCsv(llvm::StringRef path, const std::vector<EpochRecord> &history) {
  return writeFileAtomically(path, renderCsv(history));
}

llvm::Error writePlot(llvm::StringRef path, const std::vector<EpochRecord> &history,
                      llvm::StringRef title) {
  return writeFileAtomically(path, renderPlot(history, title));
}

} // namespace gradc::rt
