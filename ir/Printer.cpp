//===- ir/Printer.cpp - Writes the text IR --------------------------------===//
//
// One walk over the graph in declaration order: inputs, params, nodes in
// schedule order, then the graph-level lists (outputs, loss, gradients,
// updates) and the training config. Every piece of syntax that ir/Parser.cpp
// reads back is produced here, so the two files define the syntax together
// (ir/Printer.h shows it).
//
// Round-tripping drives the details:
//   - names that are not plain words ([A-Za-z0-9_.]+) are quoted: %"a b";
//   - numbers use attrValueToString's float text, the shortest text that
//     reads back to the same double, always with '.' or 'e';
//   - a location's file part is always written with its line ("f":0 when the
//     line is unknown), so a lone string in loc(...) is the model node.
//
//===----------------------------------------------------------------------===//
#include "ir/Printer.h"

#include "llvm/ADT/StringExtras.h"

namespace gradc::ir {

namespace {

/// Characters of an unquoted value or graph name.
bool isNameChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; }

bool isBareName(llvm::StringRef s) { return !s.empty() && llvm::all_of(s, isNameChar); }

/// A word the lexer reads as one identifier: attribute names, pass names,
/// initializer kinds.
bool isBareWord(llvm::StringRef s) {
  return !s.empty() && (llvm::isAlpha(s[0]) || s[0] == '_') &&
         llvm::all_of(s, [](char c) { return isNameChar(c) || c == '-'; });
}

std::string quoted(llvm::StringRef s) { return attrValueToString(AttrValue(s.str())); }

std::string floatText(double d) { return attrValueToString(AttrValue(d)); }

/// `%name`, `@name`, or the quoted form when the name needs it.
std::string sigilName(char sigil, llvm::StringRef name) {
  return sigil + (isBareName(name) ? name.str() : quoted(name));
}

std::string valueRef(const Value *v) {
  return v ? sigilName('%', v->name()) : std::string("%<null>");
}

std::string wordOrQuoted(llvm::StringRef s) { return isBareWord(s) ? s.str() : quoted(s); }

class Printer {
public:
  Printer(llvm::raw_ostream &os, PrintOptions opts) : os_(os), opts_(opts) {}

  void print(const Graph &g) {
    os_ << "graph " << sigilName('@', g.name) << " {\n";
    for (const Value *in : g.inputs())
      printInput(*in);
    for (const Value *p : g.params())
      printParam(*p);
    for (const auto &n : g.nodes())
      printNode(*n);
    for (const Value *o : g.outputs)
      os_ << "  output " << valueRef(o) << "\n";
    if (g.loss)
      os_ << "  loss " << valueRef(g.loss) << "\n";
    for (const auto &[param, grad] : g.gradients)
      os_ << "  grad " << valueRef(param) << " = " << valueRef(grad) << "\n";
    for (const ParamUpdate &u : g.updates)
      os_ << "  update " << valueRef(u.param) << " = " << valueRef(u.next) << "\n";
    for (const auto &slot : g.memorySlots) {
      os_ << "  memory ";
      for (size_t i = 0; i < slot.size(); ++i)
        os_ << (i ? ", " : "") << valueRef(slot[i]);
      os_ << "\n";
    }
    if (g.training.present)
      printTraining(g.training);
    os_ << "}\n";
  }

private:
  void printInput(const Value &v) {
    os_ << "  input " << valueRef(&v) << " : " << v.type().str();
    if (v.role == InputRole::Hyper) {
      os_ << " hyper";
      if (v.hyper != HyperKind::LearningRate)
        os_ << "(" << hyperKindName(v.hyper) << ")";
    }
    os_ << "\n";
  }

  void printParam(const Value &v) {
    os_ << "  param " << valueRef(&v) << " : " << v.type().str() << " init=";
    printInit(v.init);
    if (!v.trainable)
      os_ << " frozen";
    if (v.optimizerState)
      os_ << " state";
    os_ << "\n";
  }

  /// The kind, then in parentheses the fields that are non-zero or that the
  /// kind is defined by (normal: mean and std), so `normal(mean=0.0, std=1.0)`
  /// reads as what it is.
  void printInit(const Initializer &init) {
    os_ << wordOrQuoted(init.kind);
    llvm::StringRef kind = init.kind;
    struct Field {
      const char *name;
      double value;
      bool primary;
    };
    const Field fields[] = {
        {"value", init.value, kind == "constant"},
        {"mean", init.mean, kind == "normal"},
        {"std", init.std, kind == "normal"},
        {"low", init.low, kind == "uniform"},
        {"high", init.high, kind == "uniform"},
        {"gain", init.gain, false},
    };
    bool first = true;
    for (const Field &f : fields) {
      if (f.value == 0 && !f.primary)
        continue;
      os_ << (first ? "(" : ", ") << f.name << "=" << floatText(f.value);
      first = false;
    }
    if (!first)
      os_ << ")";
  }

  void printNode(const Node &n) {
    os_ << "  ";
    llvm::ListSeparator comma;
    for (const Value *r : n.results())
      os_ << comma << valueRef(r);
    os_ << " = " << n.info().name << "(";
    llvm::ListSeparator argComma;
    for (const Value *in : n.inputs())
      os_ << argComma << valueRef(in);
    os_ << ")";
    if (!n.attrs().empty()) {
      os_ << " {";
      llvm::ListSeparator attrComma;
      for (const auto &[name, value] : n.attrs().all())
        os_ << attrComma << wordOrQuoted(name) << "=" << attrValueToString(value);
      os_ << "}";
    }
    os_ << " : ";
    llvm::ListSeparator typeComma;
    for (const Value *r : n.results())
      os_ << typeComma << r->type().str();
    if (n.group != Node::kNoGroup)
      os_ << " fused g" << n.group;
    if (opts_.locations && !n.loc.empty())
      printLocation(n.loc);
    os_ << "\n";
  }

  void printLocation(const Location &loc) {
    os_ << " loc(";
    llvm::ListSeparator space(" ");
    if (!loc.file.empty() || loc.line)
      os_ << space << quoted(loc.file) << ":" << loc.line;
    if (!loc.modelNode.empty())
      os_ << space << quoted(loc.modelNode);
    if (!loc.pass.empty()) {
      assert(isBareWord(loc.pass) && "pass names are plain words");
      os_ << space << loc.pass;
    }
    if (!loc.of.empty())
      os_ << space << "of " << sigilName('%', loc.of);
    os_ << ")";
  }

  void printTraining(const TrainingConfig &t) {
    os_ << "  train optimizer=" << quoted(t.optimizer) << " lr=" << floatText(t.lr);
    // Optimizer constants only where they differ from the defaults, so the
    // common line stays short.
    const TrainingConfig defaults;
    const std::pair<const char *, double> reals[] = {
        {"momentum", t.momentum}, {"alpha", t.alpha}, {"beta1", t.beta1},
        {"beta2", t.beta2},       {"eps", t.eps},     {"weight_decay", t.weightDecay},
        {"clip_norm", t.clipNorm}};
    const double defaultReals[] = {defaults.momentum, defaults.alpha, defaults.beta1,
                                   defaults.beta2,    defaults.eps,   defaults.weightDecay,
                                   defaults.clipNorm};
    for (size_t i = 0; i < std::size(reals); ++i)
      if (reals[i].second != defaultReals[i])
        os_ << " " << reals[i].first << "=" << floatText(reals[i].second);
    if (t.nesterov)
      os_ << " nesterov=1";
    os_ << " batch=" << t.batchSize << " epochs=" << t.epochs << " seed=" << t.seed;
    if (!t.features.empty())
      os_ << " features=" << sigilName('%', t.features);
    if (!t.labels.empty())
      os_ << " labels=" << sigilName('%', t.labels);
    os_ << "\n";
  }

  llvm::raw_ostream &os_;
  PrintOptions opts_;
};

} // namespace

void printGraph(const Graph &g, llvm::raw_ostream &os, PrintOptions opts) {
  Printer(os, opts).print(g);
}

std::string graphToString(const Graph &g, PrintOptions opts) {
  std::string out;
  llvm::raw_string_ostream os(out);
  printGraph(g, os, opts);
  return out;
}

} // namespace gradc::ir
