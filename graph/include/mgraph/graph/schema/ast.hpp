#pragma once
// Syntax tree of a schema file (*.mgs), as the parser produces it: names are not yet
// resolved and nothing is typed. See docs/SCHEMA.md for the grammar.

#include <memory>
#include <string>
#include <vector>

#include "mgraph/graph/schema/diagnostic.hpp"
#include "mgraph/graph/value.hpp"

namespace mgraph::schema::ast {

enum class ExprKind : std::uint8_t {
  literal,  ///< `literal` holds the value
  name,     ///< `text` is an identifier
  self,     ///< the field's previous value
  member,   ///< args[0].text
  each,     ///< args[0][*]
  call,     ///< text(args...)
  unary,    ///< text is "-" or "not"
  binary,   ///< args[0] text args[1]; text is the operator ("+", "and", "<=", ...)
  cond,     ///< if args[0] then args[1] else args[2]
  list,     ///< [args...]: a tensor literal
  filter,   ///< args[0] where args[1]: an aggregate's pattern and its members' condition
};

struct Expr {
  ExprKind kind = ExprKind::literal;
  SourceLoc loc;
  std::string text;
  Value literal;
  std::vector<std::unique_ptr<Expr>> args;
  /// Nodes on the longest path down to a leaf. The parser keeps it <= kExprDepthMax, so
  /// whatever walks a tree recursively (checker, compiler, evaluation) has bounded depth.
  std::uint32_t height = 1;
};

/// `@name` or `@name(literal, ...)` after a member. A literal count with a unit
/// (`5s`, `250ms`) is the string "5s". `@conditional(expr)` and `@on_completion(name)`
/// take an expression, in `expr` (args stays empty).
struct Annotation {
  std::string name;
  SourceLoc loc;
  std::vector<Value> args;
  std::shared_ptr<const Expr> expr;
};

/// `name: type [= expr] annotations`.
struct Field {
  std::string name;
  SourceLoc loc;
  std::string type;
  SourceLoc type_loc;
  bool nullable = false;        ///< `TYPE?`: the field may hold null
  std::unique_ptr<Expr> value;  ///< null when there is no `=`
  std::vector<Annotation> annotations;
};

/// `name: one|many Target via [one|many] inverse annotations`.
struct Relation {
  std::string name;
  SourceLoc loc;
  bool many = false;
  std::string target;
  SourceLoc target_loc;
  bool inverse_many = false;
  std::string inverse;
  SourceLoc inverse_loc;
  std::vector<Annotation> annotations;
  /// `{ name: type = default ... }` after the inverse: properties of every link
  /// (docs/SCHEMA.md "Relation properties"). `has_properties` also for `{ }`.
  bool has_properties = false;
  SourceLoc properties_loc;
  std::vector<Field> properties;
};

/// `effect name: bool|counter|queue[(field, ...)] when expr annotations`.
struct Effect {
  std::string name;
  SourceLoc loc;
  std::string kind;
  SourceLoc kind_loc;
  /// `queue(total, status)`: the fields whose values each trigger carries. `has_carried`
  /// also for `queue()`, which the checker refuses.
  bool has_carried = false;
  std::vector<std::string> carried;
  std::vector<SourceLoc> carried_locs;
  std::unique_ptr<Expr> when;
  std::vector<Annotation> annotations;
};

/// `member = expr [@default]` inside a cycle group.
struct GroupRule {
  std::string member;
  SourceLoc loc;
  std::unique_ptr<Expr> value;
  bool is_default = false;
};

/// `cycle name(a, b, c) { rules }`.
struct CycleGroup {
  std::string name;
  SourceLoc loc;
  std::vector<std::string> members;
  std::vector<SourceLoc> member_locs;
  std::vector<GroupRule> rules;
};

struct Entity {
  std::string name;
  SourceLoc loc;
  std::vector<Field> fields;
  std::vector<Relation> relations;
  std::vector<Effect> effects;
  std::vector<CycleGroup> groups;
};

struct Schema {
  std::vector<Entity> entities;
};

}  // namespace mgraph::schema::ast
