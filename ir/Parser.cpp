//===- ir/Parser.cpp - Reads the text IR ----------------------------------===//
//
// A hand-written lexer and a recursive-descent parser for the syntax that
// ir/Printer.cpp writes (documented in ir/Printer.h). The grammar is flat, so
// the parser never recurses and runs in time and memory linear in the text:
//
//   file  := 'graph' @name '{' stmt* '}'
//   stmt  := 'input' %v ':' type ['hyper' ['(' kind ')']]
//          | 'param' %v ':' type ['init' '=' kind ['(' field=num, ... ')']] ['frozen']
//            ['state']
//          | %v, ... '=' op '(' [%v, ...] ')' ['{' name=attr, ... '}'] ':' type, ...
//            ['fused' gN] ['loc' '(' ["file":line] ["node"] [pass] ['of' %v] ')']
//          | 'output' %v | 'loss' %v | 'grad' %p '=' %v | 'update' %p '=' %v
//          | 'train' (key=value)*
//   type  := '?' | dtype '[' [dim, ...] ']'        dim := N | integer
//
// `//` starts a comment to the end of the line, so lit RUN/CHECK lines and
// the pass manager's dump headers can sit in a .gir file.
//
// Names must be defined before use; the parser builds the Graph as it goes
// and checks what only the text can tell (undefined or twice-defined names,
// unknown ops, arity, attribute schemas via ir::checkAttrs). It keeps result
// types as written; the verifier checks them against the shape rules.
//
//===----------------------------------------------------------------------===//
#include "ir/Parser.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstdlib>
#include <limits>

namespace gradc::ir {

namespace {

enum class Tok { Eof, Ident, Number, String, ValueName, GraphName, Punct, Error };

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef spelling; // the source text of the token
  std::string text;         // decoded: string contents, names without sigil, errors
  unsigned line = 1, col = 1;

  bool is(char punct) const { return kind == Tok::Punct && spelling[0] == punct; }
  bool isIdent(llvm::StringRef word) const { return kind == Tok::Ident && spelling == word; }
  bool isFloatNumber() const {
    return kind == Tok::Number && spelling.find_first_of(".eE") != llvm::StringRef::npos;
  }
};

bool isNameChar(char c) { return llvm::isAlnum(c) || c == '_' || c == '.'; }
bool isIdentChar(char c) { return isNameChar(c) || c == '-'; }

/// Splits the text into tokens. Cheap to copy, which is how the parser looks
/// one token ahead.
class Lexer {
public:
  explicit Lexer(llvm::StringRef buf) : buf_(buf) {}

  Token next() {
    skipSpaceAndComments();
    Token t;
    t.line = line_;
    t.col = static_cast<unsigned>(pos_ - lineStart_) + 1;
    size_t start = pos_;
    if (pos_ >= buf_.size()) {
      t.kind = Tok::Eof;
      return t;
    }
    char c = buf_[pos_];
    if (c == '"') {
      lexString(t);
    } else if (c == '%' || c == '@') {
      ++pos_;
      t.kind = c == '%' ? Tok::ValueName : Tok::GraphName;
      if (peekChar() == '"') {
        lexString(t);
        if (t.kind != Tok::Error)
          t.kind = c == '%' ? Tok::ValueName : Tok::GraphName;
        // Graphs may be unnamed; values may not.
        if (t.kind == Tok::ValueName && t.text.empty())
          fail(t, "a value name may not be empty");
      } else {
        while (isNameChar(peekChar()))
          ++pos_;
        t.text = buf_.slice(start + 1, pos_).str();
        if (t.text.empty())
          fail(t, llvm::formatv("expected a name after '{0}'", c));
      }
    } else if (llvm::isDigit(c) || (c == '-' && llvm::isDigit(peekChar(1)))) {
      lexNumber(t);
    } else if (llvm::isAlpha(c) || c == '_' || (c == '-' && llvm::isAlpha(peekChar(1)))) {
      // `-inf` / `-nan` are the only identifiers that start with '-'.
      ++pos_;
      while (isIdentChar(peekChar()))
        ++pos_;
      t.kind = Tok::Ident;
    } else if (llvm::StringRef("(){}[],=:?").contains(c)) {
      ++pos_;
      t.kind = Tok::Punct;
    } else {
      ++pos_;
      fail(t, llvm::isPrint(c) ? llvm::formatv("unexpected character '{0}'", c).str()
                               : llvm::formatv("unexpected byte 0x{0:x-2}",
                                               static_cast<unsigned char>(c))
                                     .str());
    }
    t.spelling = buf_.slice(start, pos_);
    return t;
  }

private:
  char peekChar(size_t ahead = 0) const {
    return pos_ + ahead < buf_.size() ? buf_[pos_ + ahead] : '\0';
  }

  void newline() {
    ++line_;
    lineStart_ = pos_;
  }

  void skipSpaceAndComments() {
    while (pos_ < buf_.size()) {
      char c = buf_[pos_];
      if (c == '\n') {
        ++pos_;
        newline();
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else if (c == '/' && peekChar(1) == '/') {
        while (pos_ < buf_.size() && buf_[pos_] != '\n')
          ++pos_;
      } else {
        return;
      }
    }
  }

  /// "..." with \" and \\ (any escaped byte stands for itself, as the
  /// printer writes strings). Strings may span lines.
  void lexString(Token &t) {
    ++pos_; // opening quote
    t.kind = Tok::String;
    while (true) {
      if (pos_ >= buf_.size())
        return fail(t, "unterminated string");
      char c = buf_[pos_++];
      if (c == '"')
        return;
      if (c == '\\') {
        if (pos_ >= buf_.size())
          return fail(t, "unterminated string");
        c = buf_[pos_++];
      }
      if (c == '\n')
        newline();
      t.text += c;
    }
  }

  /// -?digits[.digits][e[+-]digits]; a '.' or exponent makes it a float.
  void lexNumber(Token &t) {
    t.kind = Tok::Number;
    if (peekChar() == '-')
      ++pos_;
    while (llvm::isDigit(peekChar()))
      ++pos_;
    if (peekChar() == '.') {
      ++pos_;
      while (llvm::isDigit(peekChar()))
        ++pos_;
    }
    if ((peekChar() == 'e' || peekChar() == 'E') &&
        (llvm::isDigit(peekChar(1)) ||
         ((peekChar(1) == '+' || peekChar(1) == '-') && llvm::isDigit(peekChar(2))))) {
      pos_ += 2;
      while (llvm::isDigit(peekChar()))
        ++pos_;
    }
  }

  void fail(Token &t, const llvm::Twine &msg) {
    t.kind = Tok::Error;
    t.text = msg.str();
  }

  llvm::StringRef buf_;
  size_t pos_ = 0;
  unsigned line_ = 1;
  size_t lineStart_ = 0;
};

class Parser {
public:
  Parser(llvm::StringRef text, llvm::StringRef fileName)
      : lex_(text), file_(fileName.str()), g_(std::make_unique<Graph>()) {
    g_->sourceFile = file_;
    tok_ = lex_.next();
  }

  llvm::Expected<std::unique_ptr<Graph>> parse() {
    if (llvm::Error e = parseFile())
      return e;
    return std::move(g_);
  }

private:
  // ---- Diagnostics ---------------------------------------------------------

  /// Errors are one line: control bytes that names or strings may hold are
  /// shown escaped.
  llvm::Error errorAt(const Token &t, const llvm::Twine &msg) {
    std::string text;
    for (char c : msg.str()) {
      if (llvm::isPrint(c) || (c & 0x80))
        text += c;
      else if (c == '\n')
        text += "\\n";
      else
        text += llvm::formatv("\\x{0:x-2}", static_cast<unsigned char>(c)).str();
    }
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   llvm::formatv("{0}:{1}:{2}: {3}", file_, t.line, t.col, text));
  }

  static std::string describe(const Token &t) {
    llvm::StringRef s = t.spelling;
    std::string clipped = s.size() > 32 ? (s.take_front(29) + "...").str() : s.str();
    switch (t.kind) {
    case Tok::Eof:
      return "end of file";
    case Tok::String:
      return (llvm::Twine("string ") + clipped).str();
    default:
      return (llvm::Twine("'") + clipped + "'").str();
    }
  }

  /// "expected <what>, got <token>", or the lexer's own message when the
  /// current token is malformed.
  llvm::Error expected(const llvm::Twine &what) {
    if (tok_.kind == Tok::Error)
      return errorAt(tok_, tok_.text);
    return errorAt(tok_, "expected " + what + ", got " + describe(tok_));
  }

  // ---- Token helpers -------------------------------------------------------

  void consume() { tok_ = lex_.next(); }
  Token peek() const {
    Lexer copy = lex_;
    return copy.next();
  }

  llvm::Error expectPunct(char c) {
    if (!tok_.is(c))
      return expected(llvm::formatv("'{0}'", c).str());
    consume();
    return llvm::Error::success();
  }

  llvm::Error expectKeyword(llvm::StringRef word) {
    if (!tok_.isIdent(word))
      return expected("'" + word + "'");
    consume();
    return llvm::Error::success();
  }

  // ---- Values --------------------------------------------------------------

  /// A new value name: must not be defined yet.
  llvm::Expected<std::string> parseDefName() {
    if (tok_.kind != Tok::ValueName)
      return expected("a value name '%name'");
    if (g_->lookup(tok_.text))
      return errorAt(tok_, llvm::formatv("value {0} is defined twice (first at line {1})",
                                         tok_.spelling, defLines_.lookup(tok_.text)));
    defLines_[tok_.text] = tok_.line;
    std::string name = tok_.text;
    consume();
    return name;
  }

  llvm::Expected<Value *> parseUse() {
    if (tok_.kind != Tok::ValueName)
      return expected("a value '%name'");
    Value *v = g_->lookup(tok_.text);
    if (!v)
      return errorAt(tok_, "use of undefined value " + tok_.spelling);
    consume();
    return v;
  }

  // ---- Numbers -------------------------------------------------------------

  llvm::Expected<int64_t> parseInt(llvm::StringRef what) {
    if (tok_.kind != Tok::Number || tok_.isFloatNumber())
      return expected(what);
    int64_t v;
    if (tok_.spelling.getAsInteger(10, v))
      return errorAt(tok_, "integer " + tok_.spelling + " is out of range");
    consume();
    return v;
  }

  llvm::Expected<uint64_t> parseUnsigned(llvm::StringRef what) {
    if (tok_.kind != Tok::Number || tok_.isFloatNumber() || tok_.spelling[0] == '-')
      return expected(what);
    uint64_t v;
    if (tok_.spelling.getAsInteger(10, v))
      return errorAt(tok_, "integer " + tok_.spelling + " is out of range");
    consume();
    return v;
  }

  /// True for the identifiers the printer writes for non-finite floats.
  static bool isNonFiniteWord(const Token &t) {
    return t.kind == Tok::Ident &&
           (t.spelling == "inf" || t.spelling == "-inf" || t.spelling == "nan" ||
            t.spelling == "-nan");
  }

  /// Any number (integer or float text, inf, nan) as a double.
  llvm::Expected<double> parseReal(llvm::StringRef what) {
    if (tok_.kind != Tok::Number && !isNonFiniteWord(tok_))
      return expected(what);
    double v = std::strtod(tok_.spelling.str().c_str(), nullptr);
    consume();
    return v;
  }

  // ---- Types ---------------------------------------------------------------

  llvm::Expected<TensorType> parseType() {
    if (tok_.is('?')) {
      consume();
      return TensorType();
    }
    if (tok_.kind != Tok::Ident)
      return expected("a type like 'f32[N,10]' or '?'");
    std::optional<DType> dt = parseDType(tok_.spelling.str());
    if (!dt)
      return errorAt(tok_, "unknown dtype '" + tok_.spelling + "' (expected f32 or i32)");
    consume();
    if (auto e = expectPunct('['))
      return e;
    Shape shape;
    while (!tok_.is(']')) {
      if (!shape.empty())
        if (auto e = expectPunct(','))
          return e;
      if (tok_.isIdent("N")) {
        shape.push_back(kBatch);
        consume();
        continue;
      }
      if (tok_.kind == Tok::Number && tok_.spelling[0] == '-')
        return errorAt(tok_, "dimension " + tok_.spelling + " is negative");
      auto d = parseInt("a dimension (a size or N)");
      if (!d)
        return d.takeError();
      shape.push_back(*d);
    }
    consume();
    return TensorType(*dt, std::move(shape));
  }

  // ---- Statements ----------------------------------------------------------

  llvm::Error parseFile() {
    if (auto e = expectKeyword("graph"))
      return e;
    if (tok_.kind != Tok::GraphName)
      return expected("a graph name '@name'");
    g_->name = tok_.text;
    consume();
    if (auto e = expectPunct('{'))
      return e;
    while (!tok_.is('}'))
      if (auto e = parseStatement())
        return e;
    consume();
    if (tok_.kind != Tok::Eof)
      return expected("end of file after the graph's '}'");
    return llvm::Error::success();
  }

  llvm::Error parseStatement() {
    if (tok_.kind == Tok::ValueName)
      return parseNode();
    if (tok_.isIdent("input"))
      return parseInput();
    if (tok_.isIdent("param"))
      return parseParam();
    if (tok_.isIdent("output")) {
      consume();
      auto v = parseUse();
      if (!v)
        return v.takeError();
      g_->outputs.push_back(*v);
      return llvm::Error::success();
    }
    if (tok_.isIdent("loss")) {
      if (g_->loss)
        return errorAt(tok_, "the loss is given twice");
      consume();
      auto v = parseUse();
      if (!v)
        return v.takeError();
      g_->loss = *v;
      return llvm::Error::success();
    }
    if (tok_.isIdent("grad") || tok_.isIdent("update"))
      return parseParamMapping();
    if (tok_.isIdent("memory"))
      return parseMemorySlot();
    if (tok_.isIdent("train"))
      return parseTraining();
    return expected("'input', 'param', 'output', 'loss', 'grad', 'update', 'memory', 'train', "
                    "a node '%name = op(...)' or '}'");
  }

  llvm::Error parseInput() {
    consume();
    auto name = parseDefName();
    if (!name)
      return name.takeError();
    if (auto e = expectPunct(':'))
      return e;
    auto type = parseType();
    if (!type)
      return type.takeError();
    InputRole role = InputRole::Data;
    HyperKind hyper = HyperKind::LearningRate;
    if (tok_.isIdent("hyper")) {
      role = InputRole::Hyper;
      consume();
      if (tok_.is('(')) {
        consume();
        if (tok_.kind != Tok::Ident)
          return expected("a hyper input kind");
        std::optional<HyperKind> k = parseHyperKind(tok_.spelling.str());
        if (!k)
          return errorAt(tok_, "unknown hyper input kind '" + tok_.spelling +
                                   "' (expected lr, adam_step_size, adam_bc2_sqrt or "
                                   "adamw_decay)");
        hyper = *k;
        consume();
        if (auto e = expectPunct(')'))
          return e;
      }
    }
    g_->addInput(*name, *type, role)->hyper = hyper;
    return llvm::Error::success();
  }

  llvm::Error parseParam() {
    consume();
    auto name = parseDefName();
    if (!name)
      return name.takeError();
    if (auto e = expectPunct(':'))
      return e;
    auto type = parseType();
    if (!type)
      return type.takeError();
    Initializer init;
    if (tok_.isIdent("init"))
      if (auto e = parseInit(init))
        return e;
    bool trainable = true;
    if (tok_.isIdent("frozen")) {
      trainable = false;
      consume();
    }
    bool state = false;
    if (tok_.isIdent("state")) {
      state = true;
      consume();
    }
    g_->addParam(*name, *type, init, trainable)->optimizerState = state;
    return llvm::Error::success();
  }

  /// init=kind or init=kind(field=number, ...).
  llvm::Error parseInit(Initializer &init) {
    consume();
    if (auto e = expectPunct('='))
      return e;
    if (tok_.kind != Tok::Ident && tok_.kind != Tok::String)
      return expected("an initializer kind");
    init.kind = tok_.kind == Tok::Ident ? tok_.spelling.str() : tok_.text;
    consume();
    if (!tok_.is('('))
      return llvm::Error::success();
    consume();
    llvm::StringMap<bool> seen;
    while (!tok_.is(')')) {
      if (!seen.empty())
        if (auto e = expectPunct(','))
          return e;
      if (tok_.kind != Tok::Ident)
        return expected("an initializer field");
      Token field = tok_;
      double *slot = llvm::StringSwitch<double *>(field.spelling)
                         .Case("value", &init.value)
                         .Case("mean", &init.mean)
                         .Case("std", &init.std)
                         .Case("low", &init.low)
                         .Case("high", &init.high)
                         .Case("gain", &init.gain)
                         .Default(nullptr);
      if (!slot)
        return errorAt(field, "unknown initializer field '" + field.spelling +
                                  "' (expected value, mean, std, low, high or gain)");
      if (!seen.try_emplace(field.spelling, true).second)
        return errorAt(field, "initializer field '" + field.spelling + "' is given twice");
      consume();
      if (auto e = expectPunct('='))
        return e;
      auto v = parseReal("a number");
      if (!v)
        return v.takeError();
      *slot = *v;
    }
    consume();
    return llvm::Error::success();
  }

  /// grad %W = %g  /  update %W = %next
  llvm::Error parseParamMapping() {
    bool isGrad = tok_.isIdent("grad");
    consume();
    auto param = parseUse();
    if (!param)
      return param.takeError();
    if (auto e = expectPunct('='))
      return e;
    auto v = parseUse();
    if (!v)
      return v.takeError();
    if (isGrad)
      g_->gradients.emplace_back(*param, *v);
    else
      g_->updates.push_back(ParamUpdate{*param, *v});
    return llvm::Error::success();
  }

  /// memory %a, %b, ...   (one slot of the memory plan; the verifier checks it)
  llvm::Error parseMemorySlot() {
    consume();
    std::vector<Value *> slot;
    while (true) {
      auto v = parseUse();
      if (!v)
        return v.takeError();
      slot.push_back(*v);
      if (!tok_.is(','))
        break;
      consume();
    }
    g_->memorySlots.push_back(std::move(slot));
    return llvm::Error::success();
  }

  llvm::Error parseTraining() {
    if (g_->training.present)
      return errorAt(tok_, "the training config is given twice");
    consume();
    TrainingConfig &t = g_->training;
    t.present = true;
    llvm::StringMap<bool> seen;
    // Fields run until a token that is not `word =`.
    while (tok_.kind == Tok::Ident && peek().is('=')) {
      Token key = tok_;
      if (!seen.try_emplace(key.spelling, true).second)
        return errorAt(key, "train field '" + key.spelling + "' is given twice");
      consume();
      consume(); // '='
      if (key.spelling == "optimizer") {
        if (tok_.kind != Tok::String)
          return expected("a quoted optimizer name");
        t.optimizer = tok_.text;
        consume();
      } else if (key.spelling == "lr") {
        auto v = parseReal("a learning rate");
        if (!v)
          return v.takeError();
        t.lr = *v;
      } else if (double *slot = llvm::StringSwitch<double *>(key.spelling)
                                    .Case("momentum", &t.momentum)
                                    .Case("alpha", &t.alpha)
                                    .Case("beta1", &t.beta1)
                                    .Case("beta2", &t.beta2)
                                    .Case("eps", &t.eps)
                                    .Case("weight_decay", &t.weightDecay)
                                    .Case("clip_norm", &t.clipNorm)
                                    .Default(nullptr)) {
        auto v = parseReal("a number");
        if (!v)
          return v.takeError();
        *slot = *v;
      } else if (key.spelling == "nesterov") {
        auto v = parseInt("0 or 1");
        if (!v)
          return v.takeError();
        t.nesterov = *v != 0;
      } else if (key.spelling == "batch" || key.spelling == "epochs") {
        auto v = parseInt("an integer");
        if (!v)
          return v.takeError();
        (key.spelling == "batch" ? t.batchSize : t.epochs) = *v;
      } else if (key.spelling == "seed") {
        auto v = parseUnsigned("a non-negative integer");
        if (!v)
          return v.takeError();
        t.seed = *v;
      } else if (key.spelling == "features" || key.spelling == "labels") {
        // Kept as a name: the binding is checked where the data is fed.
        if (tok_.kind != Tok::ValueName)
          return expected("an input '%name'");
        (key.spelling == "features" ? t.features : t.labels) = tok_.text;
        consume();
      } else {
        return errorAt(key, "unknown train field '" + key.spelling +
                                "' (expected optimizer, lr, momentum, nesterov, alpha, "
                                "beta1, beta2, eps, weight_decay, clip_norm, batch, "
                                "epochs, seed, features or labels)");
      }
    }
    return llvm::Error::success();
  }

  // ---- Nodes ---------------------------------------------------------------

  llvm::Error parseNode() {
    std::vector<std::string> names;
    do {
      if (!names.empty())
        consume(); // ','
      auto n = parseDefName();
      if (!n)
        return n.takeError();
      // Also catches `%a, %a = ...`.
      if (llvm::is_contained(names, *n))
        return errorAt(tok_, "value %" + *n + " is defined twice");
      names.push_back(*n);
    } while (tok_.is(','));
    if (auto e = expectPunct('='))
      return e;

    if (tok_.kind != Tok::Ident)
      return expected("an op name");
    Token opTok = tok_;
    std::optional<OpKind> op = lookupOp(opTok.spelling);
    if (!op)
      return errorAt(opTok, "unknown op '" + opTok.spelling + "'" + suggestOp(opTok.spelling));
    const OpInfo &info = opInfo(*op);
    consume();

    if (auto e = expectPunct('('))
      return e;
    llvm::SmallVector<Value *, 3> inputs;
    while (!tok_.is(')')) {
      if (!inputs.empty())
        if (auto e = expectPunct(','))
          return e;
      auto v = parseUse();
      if (!v)
        return v.takeError();
      inputs.push_back(*v);
    }
    consume();
    if (!info.acceptsInputs(inputs.size()))
      return errorAt(opTok, llvm::formatv("op '{0}' expects {1} input(s), got {2}", info.name,
                                          info.arityText(), inputs.size()));
    if (!info.acceptsResults(names.size()))
      return errorAt(opTok, llvm::formatv("op '{0}' has {1} result(s), but {2} name(s) are "
                                          "defined",
                                          info.name, info.resultsText(), names.size()));

    Attrs attrs;
    Token attrTok = tok_;
    if (tok_.is('{'))
      if (auto e = parseAttrs(attrs))
        return e;

    if (auto e = expectPunct(':'))
      return e;
    std::vector<TensorType> types;
    do {
      if (!types.empty())
        consume(); // ','
      auto t = parseType();
      if (!t)
        return t.takeError();
      types.push_back(*t);
    } while (tok_.is(','));
    if (types.size() != names.size())
      return errorAt(tok_, llvm::formatv("expected {0} result type(s), got {1}", names.size(),
                                         types.size()));

    int32_t group = Node::kNoGroup;
    if (tok_.isIdent("fused")) {
      consume();
      llvm::StringRef id = tok_.kind == Tok::Ident ? llvm::StringRef(tok_.spelling) : "";
      unsigned value = 0;
      if (!id.consume_front("g") || id.empty() || id.getAsInteger(10, value) ||
          value > static_cast<unsigned>(std::numeric_limits<int32_t>::max()))
        return expected("a fusion group such as g3 after 'fused'");
      group = static_cast<int32_t>(value);
      consume();
    }

    Location loc;
    if (tok_.isIdent("loc"))
      if (auto e = parseLocation(loc))
        return e;

    Node *n = g_->addNode(*op, inputs, std::move(attrs), names, std::move(loc));
    n->group = group;
    for (size_t i = 0; i < types.size(); ++i) {
      assert(n->result(i)->name() == names[i] && "fresh names are kept as given");
      n->result(i)->setType(types[i]);
    }
    if (llvm::Error e = checkAttrs(*n))
      return errorAt(attrTok.is('{') ? attrTok : opTok, llvm::toString(std::move(e)));
    return llvm::Error::success();
  }

  /// " (did you mean 'x'?)" for a near miss, else "".
  static std::string suggestOp(llvm::StringRef name) {
    std::string best;
    unsigned bestDist = 3; // suggest only close names
    for (unsigned i = 0; i < kNumOps; ++i) {
      llvm::StringRef cand = opInfo(static_cast<OpKind>(i)).name;
      unsigned d = name.edit_distance(cand, true, bestDist);
      if (d < bestDist) {
        bestDist = d;
        best = cand.str();
      }
    }
    return best.empty() ? "" : " (did you mean '" + best + "'?)";
  }

  llvm::Error parseAttrs(Attrs &attrs) {
    consume(); // '{'
    bool first = true;
    while (!tok_.is('}')) {
      if (!first)
        if (auto e = expectPunct(','))
          return e;
      first = false;
      if (tok_.kind != Tok::Ident && tok_.kind != Tok::String)
        return expected("an attribute name");
      Token nameTok = tok_;
      std::string name = tok_.kind == Tok::Ident ? tok_.spelling.str() : tok_.text;
      if (attrs.has(name))
        return errorAt(nameTok, "attribute '" + name + "' is given twice");
      consume();
      if (auto e = expectPunct('='))
        return e;
      auto v = parseAttrValue();
      if (!v)
        return v.takeError();
      attrs.set(name, std::move(*v));
    }
    consume();
    return llvm::Error::success();
  }

  /// 3 | 0.5 | inf | "s" | [1,2] | f[0.5,1.0]
  llvm::Expected<AttrValue> parseAttrValue() {
    if (tok_.kind == Tok::Number && !tok_.isFloatNumber()) {
      auto v = parseInt("an integer");
      if (!v)
        return v.takeError();
      return AttrValue(*v);
    }
    if (tok_.kind == Tok::Number || isNonFiniteWord(tok_)) {
      auto v = parseReal("a number");
      if (!v)
        return v.takeError();
      return AttrValue(*v);
    }
    if (tok_.kind == Tok::String) {
      std::string s = tok_.text;
      consume();
      return AttrValue(std::move(s));
    }
    if (tok_.is('[')) {
      consume();
      return parseListTail<int64_t>([&] { return parseInt("an integer"); });
    }
    if (tok_.isIdent("f") && peek().is('[')) {
      consume();
      consume();
      return parseListTail<double>([&] { return parseReal("a number"); });
    }
    return expected("an attribute value (integer, float, string, [ints] or f[floats])");
  }

  /// The rest of a list after its '[': elements read by `elem`, separated by
  /// commas, up to and including the ']'.
  template <typename T, typename ParseElem>
  llvm::Expected<AttrValue> parseListTail(ParseElem elem) {
    std::vector<T> list;
    while (!tok_.is(']')) {
      if (!list.empty())
        if (auto e = expectPunct(','))
          return e;
      auto v = elem();
      if (!v)
        return v.takeError();
      list.push_back(*v);
    }
    consume();
    return AttrValue(std::move(list));
  }

  /// loc("file":line "node" pass of %value), every part optional.
  llvm::Error parseLocation(Location &loc) {
    consume(); // 'loc'
    if (auto e = expectPunct('('))
      return e;
    if (tok_.kind == Tok::String) {
      std::string s = tok_.text;
      consume();
      if (tok_.is(':')) {
        consume();
        auto line = parseUnsigned("a line number");
        if (!line)
          return line.takeError();
        if (*line > std::numeric_limits<unsigned>::max())
          return errorAt(tok_, "line number is out of range");
        loc.file = std::move(s);
        loc.line = static_cast<unsigned>(*line);
        if (tok_.kind == Tok::String) {
          loc.modelNode = tok_.text;
          consume();
        }
      } else {
        loc.modelNode = std::move(s);
      }
    }
    // A pass name, unless this is `of %v` with no pass (a pass may be called
    // "of" too: then a value follows "of" only the second time).
    if (tok_.kind == Tok::Ident && !(tok_.isIdent("of") && peek().kind == Tok::ValueName)) {
      if (tok_.spelling[0] == '-')
        return expected("a pass name");
      loc.pass = tok_.spelling.str();
      consume();
    }
    if (tok_.isIdent("of")) {
      consume();
      if (tok_.kind != Tok::ValueName)
        return expected("a value '%name' after 'of'");
      loc.of = tok_.text;
      consume();
    }
    return expectPunct(')');
  }

  Lexer lex_;
  Token tok_;
  std::string file_;
  std::unique_ptr<Graph> g_;
  llvm::StringMap<unsigned> defLines_;
};

} // namespace

llvm::Expected<std::unique_ptr<Graph>> parseGraph(llvm::StringRef text,
                                                  llvm::StringRef fileName) {
  return Parser(text, fileName).parse();
}

} // namespace gradc::ir
