#pragma once
// Private interface between the schema checker and the formula compiler.

#include <functional>
#include <string>
#include <vector>

#include "mgraph/graph/schema/ast.hpp"
#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::schema {

/// One hop of a relation path from the record a formula runs for.
struct Step {
  bool many = false;
  std::uint32_t relation = kNone;  ///< relation index in the entity the hop starts from
  std::uint32_t local = kNone;     ///< that relation's node local
  std::uint32_t target = kNone;    ///< entity reached
};

/// What a sub-expression denotes while compiling.
struct Typed {
  enum class Kind : std::uint8_t { value, record, collection, each };
  Kind kind = Kind::value;
  Type type = Type::null;        ///< value, or the element type of an `each` with a field
  Eval eval;                     ///< value only
  bool constant = true;          ///< value only: reads no field and not self
  std::uint32_t entity = kNone;  ///< record/collection/each: the entity reached
  std::vector<Step> path;
  std::uint32_t field = kNone;  ///< each: the field read from every record (kNone: records)
  /// each with a field, after linkify(): the local of the end entity (a link entity) that
  /// holds the value, a hidden node reading `field` through the link's other end. kNone:
  /// the field's own local.
  std::uint32_t local = kNone;
  /// value only: eval is exactly `frame.slot(slot)` (an own field), so an operator can
  /// read the slot without the call through eval. kNone otherwise.
  std::uint32_t slot = kNone;
  /// record/collection/each: `path` starts at the global record (kGlobalRecord), not at
  /// the formula's own (`global.rate`, `Order[*].total` outside the global entity).
  bool from_global = false;
  SourceLoc loc;
};

/// Compiles the formulas of one entity. Restricting `allowed_fields` (cycle-group rules)
/// forbids relations, aggregates, self and every field outside the set.
class ExprCompiler {
 public:
  ExprCompiler(Schema& schema, std::uint32_t entity, const CompileOptions& options,
               std::vector<Diagnostic>* diags)
      : schema_(schema), entity_(entity), options_(options), diags_(diags) {}

  void restrict_to(std::vector<std::uint32_t> fields) {
    allowed_ = std::move(fields);
    restricted_ = true;
  }
  /// The type `self` has in this formula (the declared type of the field).
  void set_self_type(Type t) { self_type_ = t; }

  /// Compiles `e` into `out`; false after reporting a diagnostic.
  bool compile(const ast::Expr& e, CompiledFormula* out);
  /// Own fields the last compiled formula reads directly (for immediate-cycle detection).
  const std::vector<std::uint32_t>& own_fields() const { return own_fields_; }

 private:
  bool expr(const ast::Expr& e, Typed* out);
  bool name(const ast::Expr& e, Typed* out);
  bool member(const ast::Expr& e, Typed* out);
  /// `base.text`: a field or relation of the record(s) `base` reaches, or `link`.
  bool member_of(Typed base, const std::string& text, SourceLoc loc, Typed* out);
  /// The entity the last hop of `t`'s path starts from.
  std::uint32_t hop_origin(const Typed& t) const;
  /// Replaces the last hop of `t` (a relation with properties) by the hop to its link
  /// records, so that `t` reaches the link entity; a field of the member becomes a hidden
  /// node of the link entity reading it through the link's other end. False after an
  /// error when the hop has no properties.
  bool linkify(Typed* t, SourceLoc loc);
  /// The local of the end entity holding the value of `t` (each): Typed::local, else the
  /// field's; kNone for records.
  std::uint32_t value_local(const Typed& t) const;
  /// Whether a `where` condition names `link` (the link's properties) outside a nested
  /// aggregate's pattern.
  static bool mentions_link(const ast::Expr& e);
  /// Notes that a formula of another record reads `local` of entity `entity`.
  void read_elsewhere(std::uint32_t entity, std::uint32_t local) {
    if (local != kNone) schema_.entities[entity].read_elsewhere.push_back(local);
  }
  bool unary(const ast::Expr& e, Typed* out);
  bool binary(const ast::Expr& e, Typed* out);
  bool cond(const ast::Expr& e, Typed* out);
  bool list(const ast::Expr& e, Typed* out);
  bool call(const ast::Expr& e, Typed* out);
  /// `where`: the members' condition (`count(items[*] where price > 10)`), or null.
  /// `not_empty`: every(..., notEmpty) is false without members.
  bool aggregate(const ast::Expr& e, AggOp op, const Typed& arg, const ast::Expr* where,
                 Typed* out, bool not_empty = false);
  /// wavg(values, weights), or with `sum_only` wsum: the sum of value * weight.
  bool wavg(const ast::Expr& e, Typed* out, bool sum_only);

  // ---- Accumulators (aggregates.cpp) ----

 public:
  /// What one level of a pattern aggregate keeps: `members` stands for the count, and
  /// `product` for wavg's numerator (field * weight).
  struct Quantity {
    AccKind kind = AccKind::members;
    /// Local of the entity the pattern ends at (a field, or a hidden node of a link
    /// entity); kNone: the members themselves.
    std::uint32_t field = kNone;
    std::uint32_t weight = kNone;  ///< product: the weight's local
    /// A filtered aggregate: the hidden node of the pattern's end entity holding the
    /// field (true for a count) where the condition holds, else null (filtered()). It
    /// replaces `field`, and a count counts the members where it is not null.
    std::uint32_t filtered = kNone;
  };
  /// The local of entity `ent` that holds `q` over path[i..] for each of its records;
  /// path[i..] contains a many-hop.
  std::uint32_t level(std::uint32_t ent, const std::vector<Step>& path, std::size_t i,
                      const Quantity& q);
  /// `def` as an accumulator of `ent` (an equal one is shared); its local.
  std::uint32_t accumulator(std::uint32_t ent, AggregateDef def);
  /// A hidden node of `ent` reading `local` of the record `hops` (one-hops) reach, `zero`
  /// when one is unlinked; `local` kNone reads `true` for the record itself.
  std::uint32_t through(std::uint32_t ent, std::vector<Step> hops, std::uint32_t local,
                        Value zero, Type type);
  /// A hidden node of `ent` holding its local `local` (true for kNone) where `where`, a
  /// bool formula over `ent`'s record, holds, and null elsewhere; kNone after reporting an
  /// error in `where`.
  /// `keep_null`: a null value stays null (min, max), else it reads as 0 (a nullable field).
  /// `link_other`: `ent` is a link entity seen from one side, and the condition's names
  /// are the other end's (reached through this relation of `ent`), `link` the link's.
  std::uint32_t filtered(std::uint32_t ent, std::uint32_t local, const ast::Expr& where,
                         bool keep_null, std::uint32_t link_other = kNone);
  /// A hidden node of `ent` holding the product of its locals `x` and `w`, as a float.
  std::uint32_t product(std::uint32_t ent, std::uint32_t x, std::uint32_t w);
  bool computed_local(std::uint32_t ent, std::uint32_t local) const;
  Type local_type(std::uint32_t ent, std::uint32_t local) const;
  std::string local_name(std::uint32_t ent, std::uint32_t local) const;
  /// Where a formula finds the accumulators of a pattern: its own record's (slots, declared
  /// dependencies), or those of the record the pattern's leading one-hops reach (tracked;
  /// `zeros` when a hop is unlinked).
  struct Accumulated {
    bool own = true;
    std::vector<std::uint32_t> slots;   ///< own: slot per quantity
    std::vector<Step> prefix;           ///< else: the leading one-hops
    std::vector<std::uint32_t> locals;  ///< else: local per quantity in the record reached
    std::vector<Value> zeros;
    /// else: the record the prefix starts at; 0: the formula's own.
    std::uint64_t start = 0;
  };

 private:
  /// The accumulators holding `qs` over `path`. REQUIRES: `path` has a many-hop.
  Accumulated accumulated(const std::vector<Step>& path, const std::vector<Quantity>& qs,
                          bool from_global = false);
  /// The full-recompute path: walks the collection on every computation.
  /// `filtered`: `local` is a filtered() node, and a null there is no member.
  Eval scan(const std::vector<Step>& path, std::uint32_t local, AggOp op, bool ints,
            bool filtered = false, bool from_global = false);
  bool value_of(const ast::Expr& e, Typed* out);  ///< expr() that must be a value
  bool error(SourceLoc loc, std::string message);
  std::uint32_t slot_of(std::uint32_t local);
  Typed field_value(std::uint32_t field, SourceLoc loc);

  Schema& schema_;
  std::uint32_t entity_;
  const CompileOptions& options_;
  std::vector<Diagnostic>* diags_;
  bool restricted_ = false;
  std::vector<std::uint32_t> allowed_;
  Type self_type_ = Type::null;
  CompiledFormula* current_ = nullptr;
  /// A `where` over link records: bare names are read through this relation of the link
  /// entity (the other end), and `link` is the link record itself. kNone: not such.
  std::uint32_t link_other_ = kNone;
  std::vector<std::uint32_t> own_fields_;
};

/// Calls `fn(id)` for every record reached from `start` along `path` (one hops follow
/// the linked id, many hops every member), reading each hop as a dependency.
void walk_path(Frame& frame, const std::vector<Step>& path, std::size_t i, std::uint64_t start,
               const std::function<void(std::uint64_t)>& fn);

}  // namespace mgraph::schema
