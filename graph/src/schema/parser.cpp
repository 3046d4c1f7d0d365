// Recursive-descent parser of the schema language (grammar in docs/SCHEMA.md).
// Errors unwind with a private exception caught at the two entry points, so the
// public API returns Result values only.

#include "mgraph/graph/schema/parser.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "lexer.hpp"
#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::schema {
namespace {

struct SyntaxError {
  Diagnostic d;
};

bool is_reserved(std::string_view s) {
  static constexpr std::string_view kReserved[] = {"if",     "then",   "else",  "and",  "or",
                                                   "not",    "true",   "false", "null", "self",
                                                   "entity", "effect", "cycle",  "where",
                                                   "global"};
  for (std::string_view r : kReserved) {
    if (s == r) return true;
  }
  return false;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  // Counts are bounded as the declarations are read, before anything is built for them:
  // the checker's work grows with their product, and a file of 16 MiB holds a million.
  ast::Schema schema() {
    ast::Schema s;
    // `global NAME: TYPE [= expr]` declarations gather in one entity, the last one.
    ast::Entity globals;
    globals.name = "global";
    while (!at_end()) {
      if (is_word("global")) {
        const SourceLoc loc = next().loc;
        if (globals.fields.empty()) globals.loc = loc;
        if (globals.fields.size() == kMembersMax)
          fail(loc, "more than " + std::to_string(kMembersMax) + " global values");
        globals.fields.push_back(field());
        continue;
      }
      if (!is_word("entity"))
        fail(peek().loc, "expected 'entity' or 'global', found " + describe(peek()));
      if (s.entities.size() == kEntitiesMax)
        fail(peek().loc, "more than " + std::to_string(kEntitiesMax) + " entities");
      s.entities.push_back(entity());
    }
    if (!globals.fields.empty()) s.entities.push_back(std::move(globals));
    return s;
  }

  std::unique_ptr<ast::Expr> lone_expression() {
    auto e = expr();
    if (!at_end()) fail(peek().loc, "unexpected " + describe(peek()) + " after the expression");
    return e;
  }

 private:
  // ---- token helpers ----
  const Token& peek(std::size_t ahead = 0) const {
    return t_[std::min(pos_ + ahead, t_.size() - 1)];
  }
  bool at_end() const { return peek().kind == Tok::end; }
  bool is_punct(std::string_view p, std::size_t ahead = 0) const {
    return peek(ahead).kind == Tok::punct && peek(ahead).text == p;
  }
  bool is_word(std::string_view w, std::size_t ahead = 0) const {
    return peek(ahead).kind == Tok::ident && peek(ahead).text == w;
  }
  Token next() {
    Token t = peek();
    if (pos_ < t_.size() - 1) ++pos_;
    return t;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::end:
        return "end of file";
      case Tok::string:
        return "string \"" + t.text + "\"";
      default:
        return "'" + t.text + "'";
    }
  }
  [[noreturn]] static void fail(SourceLoc loc, std::string message) {
    throw SyntaxError{{loc, std::move(message)}};
  }
  void expect_punct(std::string_view p) {
    if (!is_punct(p))
      fail(peek().loc, "expected '" + std::string(p) + "', found " + describe(peek()));
    next();
  }
  void expect_word(std::string_view w) {
    if (!is_word(w))
      fail(peek().loc, "expected '" + std::string(w) + "', found " + describe(peek()));
    next();
  }
  Token name(const char* what) {
    if (peek().kind != Tok::ident || is_reserved(peek().text)) {
      fail(peek().loc, std::string("expected ") + what + ", found " + describe(peek()));
    }
    return next();
  }

  // ---- declarations ----
  ast::Entity entity() {
    ast::Entity e;
    e.loc = next().loc;
    Token n = name("an entity name");
    e.name = n.text;
    e.loc = n.loc;
    expect_punct("{");
    std::size_t members = 0;
    // Each member consumes tokens or fails, so the loop ends with the file.
    while (!is_punct("}")) {
      if (at_end()) fail(peek().loc, "expected '}' to close entity " + e.name);
      if (is_punct(";") || is_punct(",")) {
        next();
        continue;
      }
      if (members++ == kMembersMax) {
        fail(peek().loc,
             "entity " + e.name + " has more than " + std::to_string(kMembersMax) + " members");
      }
      if (is_word("effect")) {
        e.effects.push_back(effect());
      } else if (is_word("cycle")) {
        e.groups.push_back(group());
      } else if (is_word("one", 2) || is_word("many", 2)) {
        e.relations.push_back(relation());
      } else {
        e.fields.push_back(field());
      }
    }
    next();
    return e;
  }

  ast::Field field() {
    ast::Field f;
    Token n = name("a field name");
    f.name = n.text;
    f.loc = n.loc;
    expect_punct(":");
    Token ty = name("a type (bool, int, float, string, tensor)");
    f.type = ty.text;
    f.type_loc = ty.loc;
    if (is_punct("?")) {
      next();
      f.nullable = true;
    }
    if (is_punct("=")) {
      next();
      f.value = expr();
    }
    f.annotations = annotations();
    return f;
  }

  ast::Relation relation() {
    ast::Relation r;
    Token n = name("a relation name");
    r.name = n.text;
    r.loc = n.loc;
    expect_punct(":");
    r.many = next().text == "many";
    Token target = name("the related entity");
    r.target = target.text;
    r.target_loc = target.loc;
    expect_word("via");
    if (is_word("one") || is_word("many")) {
      // `via many posts` names the inverse's cardinality; a bare inverse name is `one`.
      if (peek(1).kind == Tok::ident && !is_reserved(peek(1).text))
        r.inverse_many = next().text == "many";
    }
    Token inv = name("the inverse relation's name");
    r.inverse = inv.text;
    r.inverse_loc = inv.loc;
    if (is_punct("{")) {
      // Properties of every link: fields, as an entity's.
      r.has_properties = true;
      r.properties_loc = next().loc;
      while (!is_punct("}")) {
        if (at_end()) fail(peek().loc, "expected '}' to close the properties of " + r.name);
        if (is_punct(";") || is_punct(",")) {
          next();
          continue;
        }
        if (r.properties.size() == kMembersMax) {
          fail(peek().loc, "relation " + r.name + " has more than " +
                               std::to_string(kMembersMax) + " properties");
        }
        r.properties.push_back(field());
      }
      next();
    }
    r.annotations = annotations();
    return r;
  }

  ast::Effect effect() {
    ast::Effect fx;
    next();
    Token n = name("an effect name");
    fx.name = n.text;
    fx.loc = n.loc;
    expect_punct(":");
    Token kind = name("an effect kind (bool, counter, queue)");
    fx.kind = kind.text;
    fx.kind_loc = kind.loc;
    if (is_punct("(")) {
      // `queue(total, status)`: the fields each trigger carries; a kind other than queue
      // is refused by the checker, which names the kind.
      next();
      fx.has_carried = true;
      while (!is_punct(")")) {
        if (fx.carried.size() == kMembersMax) {
          fail(peek().loc, "effect " + fx.name + " carries more than " +
                               std::to_string(kMembersMax) + " fields");
        }
        Token f = name("a field the queue carries");
        fx.carried.push_back(f.text);
        fx.carried_locs.push_back(f.loc);
        if (!is_punct(",")) break;
        next();
      }
      expect_punct(")");
    }
    expect_word("when");
    fx.when = expr();
    fx.annotations = annotations();
    return fx;
  }

  ast::CycleGroup group() {
    ast::CycleGroup g;
    next();
    Token n = name("a cycle group name");
    g.name = n.text;
    g.loc = n.loc;
    expect_punct("(");
    // A group's members are distinct fields of its entity, hence at most kMembersMax.
    while (true) {
      if (g.members.size() == kMembersMax) {
        fail(peek().loc, "cycle group " + g.name + " has more than " +
                             std::to_string(kMembersMax) + " members");
      }
      Token m = name("a member field");
      g.members.push_back(m.text);
      g.member_locs.push_back(m.loc);
      if (!is_punct(",")) break;
      next();
    }
    expect_punct(")");
    expect_punct("{");
    while (!is_punct("}")) {
      if (at_end()) fail(peek().loc, "expected '}' to close cycle group " + g.name);
      if (is_punct(";") || is_punct(",")) {
        next();
        continue;
      }
      if (g.rules.size() == kMembersMax) {
        fail(peek().loc, "cycle group " + g.name + " has more than " +
                             std::to_string(kMembersMax) + " rules");
      }
      ast::GroupRule rule;
      Token m = name("a member field");
      rule.member = m.text;
      rule.loc = m.loc;
      expect_punct("=");
      rule.value = expr();
      for (const ast::Annotation& a : annotations()) {
        if (a.name != "default") fail(a.loc, "unknown annotation @" + a.name + " on a cycle rule");
        rule.is_default = true;
      }
      g.rules.push_back(std::move(rule));
    }
    next();
    return g;
  }

  static bool is_time_unit(std::string_view s) {
    return s == "ms" || s == "s" || s == "m" || s == "h" || s == "d";
  }

  std::vector<ast::Annotation> annotations() {
    std::vector<ast::Annotation> out;
    while (is_punct("@")) {
      next();
      ast::Annotation a;
      Token n = name("an annotation name");
      a.name = n.text;
      a.loc = n.loc;
      if (is_punct("(") && (a.name == "conditional" || a.name == "on_completion")) {
        // A predicate, or the name of the field that completes.
        next();
        if (!is_punct(")")) a.expr = expr();
        expect_punct(")");
      } else if (is_punct("(")) {
        next();
        while (!is_punct(")")) {
          auto e = unary();
          if (e->kind != ast::ExprKind::literal) fail(e->loc, "annotation arguments are literals");
          if (e->literal.is_int() && peek().kind == Tok::ident && is_time_unit(peek().text)) {
            // A duration: `5s` lexes as 5 and s.
            e->literal = Value(std::to_string(e->literal.as_int()) + next().text);
          }
          a.args.push_back(e->literal);
          if (!is_punct(",")) break;
          next();
        }
        expect_punct(")");
      }
      out.push_back(std::move(a));
    }
    return out;
  }

  // ---- expressions ----
  // Two bounds keep recursion finite. DepthGuard bounds the parser's own (parentheses
  // create no node); adopt() bounds the height of the tree, which the checker, compiler
  // and evaluation recurse over, and which a chain such as 1 + 1 + ... grows by a loop.
  struct DepthGuard {
    explicit DepthGuard(Parser& p, SourceLoc loc) : p_(p) {
      if (++p_.depth_ > kExprDepthMax) fail(loc, "expression nested too deeply");
    }
    ~DepthGuard() { --p_.depth_; }
    Parser& p_;
  };

  static std::unique_ptr<ast::Expr> node(ast::ExprKind kind, SourceLoc loc, std::string text = {}) {
    auto e = std::make_unique<ast::Expr>();
    e->kind = kind;
    e->loc = loc;
    e->text = std::move(text);
    return e;
  }
  /// Appends `child` to `parent`; fails when the tree would exceed kExprDepthMax.
  static void adopt(ast::Expr& parent, std::unique_ptr<ast::Expr> child) {
    parent.height = std::max(parent.height, child->height + 1);
    if (parent.height > kExprDepthMax) fail(parent.loc, "expression nested too deeply");
    parent.args.push_back(std::move(child));
  }
  static std::unique_ptr<ast::Expr> binary(std::string op, SourceLoc loc,
                                           std::unique_ptr<ast::Expr> a,
                                           std::unique_ptr<ast::Expr> b) {
    auto e = node(ast::ExprKind::binary, loc, std::move(op));
    adopt(*e, std::move(a));
    adopt(*e, std::move(b));
    return e;
  }

  std::unique_ptr<ast::Expr> expr() {
    DepthGuard guard(*this, peek().loc);
    if (is_word("if")) {
      auto e = node(ast::ExprKind::cond, next().loc);
      adopt(*e, expr());
      expect_word("then");
      adopt(*e, expr());
      expect_word("else");
      adopt(*e, expr());
      return e;
    }
    return disjunction();
  }
  std::unique_ptr<ast::Expr> disjunction() {
    auto e = conjunction();
    while (is_word("or") || is_punct("||")) {
      SourceLoc loc = next().loc;
      e = binary("or", loc, std::move(e), conjunction());
    }
    return e;
  }
  std::unique_ptr<ast::Expr> conjunction() {
    auto e = negation();
    while (is_word("and") || is_punct("&&")) {
      SourceLoc loc = next().loc;
      e = binary("and", loc, std::move(e), negation());
    }
    return e;
  }
  std::unique_ptr<ast::Expr> negation() {
    if (is_word("not") || is_punct("!")) {
      DepthGuard guard(*this, peek().loc);
      auto e = node(ast::ExprKind::unary, next().loc, "not");
      adopt(*e, negation());
      return e;
    }
    return comparison();
  }
  std::unique_ptr<ast::Expr> comparison() {
    auto e = additive();
    static constexpr std::string_view kOps[] = {"==", "!=", "<", "<=", ">", ">="};
    for (std::string_view op : kOps) {
      if (is_punct(op)) {
        SourceLoc loc = next().loc;
        return binary(std::string(op), loc, std::move(e), additive());
      }
    }
    return e;
  }
  std::unique_ptr<ast::Expr> additive() {
    auto e = multiplicative();
    while (is_punct("+") || is_punct("-")) {
      Token op = next();
      e = binary(op.text, op.loc, std::move(e), multiplicative());
    }
    return e;
  }
  std::unique_ptr<ast::Expr> multiplicative() {
    auto e = unary();
    while (is_punct("*") || is_punct("/") || is_punct("%")) {
      Token op = next();
      e = binary(op.text, op.loc, std::move(e), unary());
    }
    return e;
  }
  std::unique_ptr<ast::Expr> unary() {
    if (is_punct("-")) {
      DepthGuard guard(*this, peek().loc);
      SourceLoc loc = next().loc;
      auto operand = unary();
      // Fold negative literals so that annotation arguments and defaults stay literals.
      if (operand->kind == ast::ExprKind::literal && operand->literal.is_number()) {
        operand->literal = operand->literal.is_int() ? Value(-operand->literal.as_int())
                                                     : Value(-operand->literal.as_double());
        operand->loc = loc;
        return operand;
      }
      auto e = node(ast::ExprKind::unary, loc, "-");
      adopt(*e, std::move(operand));
      return e;
    }
    return postfix();
  }
  std::unique_ptr<ast::Expr> postfix() {
    auto e = primary();
    // Each step consumes tokens; bounded by the token count.
    while (true) {
      if (is_punct(".")) {
        SourceLoc loc = next().loc;
        Token n = name("a field or relation name after '.'");
        auto m = node(ast::ExprKind::member, n.loc, n.text);
        (void)loc;
        adopt(*m, std::move(e));
        e = std::move(m);
      } else if (is_punct("[") && is_punct("*", 1)) {
        SourceLoc loc = next().loc;
        next();
        expect_punct("]");
        auto m = node(ast::ExprKind::each, loc);
        adopt(*m, std::move(e));
        e = std::move(m);
      } else {
        return e;
      }
    }
  }
  std::unique_ptr<ast::Expr> primary() {
    DepthGuard guard(*this, peek().loc);
    const Token& t = peek();
    switch (t.kind) {
      case Tok::integer: {
        auto e = node(ast::ExprKind::literal, t.loc);
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (ec != std::errc() || p != t.text.data() + t.text.size()) {
          fail(t.loc, "integer literal " + t.text + " does not fit in 64 bits");
        }
        e->literal = Value(v);
        next();
        return e;
      }
      case Tok::real: {
        auto e = node(ast::ExprKind::literal, t.loc);
        e->literal = Value(std::strtod(t.text.c_str(), nullptr));
        next();
        return e;
      }
      case Tok::string: {
        auto e = node(ast::ExprKind::literal, t.loc);
        e->literal = Value(t.text);
        next();
        return e;
      }
      case Tok::end:
        fail(t.loc, "expected an expression, found end of file");
      case Tok::punct: {
        if (t.text == "(") {
          next();
          auto e = expr();
          expect_punct(")");
          return e;
        }
        if (t.text == "[") {
          auto e = node(ast::ExprKind::list, next().loc);
          while (!is_punct("]")) {
            adopt(*e, expr());
            if (!is_punct(",")) break;
            next();
          }
          expect_punct("]");
          return e;
        }
        fail(t.loc, "expected an expression, found " + describe(t));
      }
      case Tok::ident:
        break;
    }
    if (t.text == "true" || t.text == "false") {
      auto e = node(ast::ExprKind::literal, t.loc);
      e->literal = Value(t.text == "true");
      next();
      return e;
    }
    if (t.text == "null") {
      auto e = node(ast::ExprKind::literal, next().loc);
      return e;
    }
    if (t.text == "self") return node(ast::ExprKind::self, next().loc, "self");
    // `global.NAME`: the record of the global values.
    if (t.text == "global") return node(ast::ExprKind::name, next().loc, "global");
    Token n = name("an expression");
    if (!is_punct("(")) return node(ast::ExprKind::name, n.loc, n.text);
    next();
    auto call = node(ast::ExprKind::call, n.loc, n.text);
    while (!is_punct(")")) {
      auto arg = expr();
      if (is_word("where")) {
        // `pattern where condition`: the aggregate counts the members the condition holds for.
        auto filter = node(ast::ExprKind::filter, next().loc, "where");
        adopt(*filter, std::move(arg));
        adopt(*filter, expr());
        arg = std::move(filter);
      }
      adopt(*call, std::move(arg));
      if (!is_punct(",")) break;
      next();
    }
    expect_punct(")");
    return call;
  }

  std::vector<Token> t_;
  std::size_t pos_ = 0;
  std::size_t depth_ = 0;
};

template <class T, class F>
Result<T> run(const SourceFile& file, F&& body) {
  if (file.text.size() > kSourceBytesMax) {
    return Status(StatusCode::out_of_range,
                  file.name + ": schema larger than " + std::to_string(kSourceBytesMax) + " bytes");
  }
  std::vector<Token> tokens;
  Diagnostic d;
  if (!lex(file.text, &tokens, &d)) {
    return Status(StatusCode::invalid_argument, format_diagnostic(file, d));
  }
  Parser p(std::move(tokens));
  try {
    return body(p);
  } catch (const SyntaxError& e) {
    return Status(StatusCode::invalid_argument, format_diagnostic(file, e.d));
  }
}

}  // namespace

Result<ast::Schema> parse_schema(const SourceFile& file) {
  return run<ast::Schema>(file, [](Parser& p) { return p.schema(); });
}

Result<std::unique_ptr<ast::Expr>> parse_expression(const SourceFile& file) {
  return run<std::unique_ptr<ast::Expr>>(file, [](Parser& p) { return p.lone_expression(); });
}

}  // namespace mgraph::schema
