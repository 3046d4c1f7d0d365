#pragma once
// Random schemas (*.mgs text) for differential tests: entities with state fields of every
// scalar type, relations 1:n, n:1 and n:n between them, derived fields over their own
// fields, `self`, one-hops, aggregates (count sum avg min max any every wavg) over
// relations and nested patterns, lazy fields, effects and now and then a cycle group.
// Formulas may read through relations in both directions, so a script can close a data
// cycle: the engine's error for it is part of what differential tests compare.

#include <cstdint>
#include <string>
#include <vector>

#include "support/prng.hpp"

// Concatenations start from a std::string, never from a literal: GCC 12 wrongly warns
// (-Wrestrict) on `"literal" + std::string` when it inlines them.

namespace mgraph::testing {

class SchemaGenerator {
 public:
  struct Options {
    bool lazy = true;  ///< now and then a derived field @lazy
  };
  explicit SchemaGenerator(std::uint64_t seed, Options options = {true})
      : rng_(seed), options_(options) {}

  std::string schema() {
    const std::size_t n = 2 + rng_.below(3);
    entities_.assign(n, Entity{});
    for (std::size_t e = 0; e < n; ++e) entities_[e].name = std::string("E") + std::to_string(e);
    for (Entity& e : entities_) state_fields(e);
    relations();
    for (std::size_t e = 0; e < n; ++e) derived_names(entities_[e]);
    std::string out;
    for (std::size_t e = 0; e < n; ++e) out += entity_text(e);
    return out;
  }

 private:
  struct Field {
    std::string name;
    char type;  // 'i' int, 'f' float, 'b' bool, 's' string
  };
  struct Relation {
    std::string name;
    std::size_t target;
    bool many;
  };
  struct Entity {
    std::string name;
    std::vector<Field> state;
    std::vector<Field> derived;  // all float
    std::vector<Relation> relations;
    std::vector<std::string> declared;  // relation declarations written in this entity
    bool cycle = false;
  };

  void state_fields(Entity& e) {
    const std::size_t n = 1 + rng_.below(3);
    e.state.push_back(Field{"a", 'i'});
    for (std::size_t i = 0; i < n; ++i) {
      static const char kTypes[] = {'i', 'f', 'f', 'b', 's'};
      const char t = kTypes[rng_.below(sizeof kTypes)];
      e.state.push_back(Field{std::string(1, t) + std::to_string(i), t});
    }
    e.cycle = rng_.below(6) == 0;
  }

  void relations() {
    const std::size_t n = entities_.size() + rng_.below(entities_.size());
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t a = rng_.below(entities_.size()), b = rng_.below(entities_.size());
      const std::string name = std::string("r") + std::to_string(r),
                        inverse = std::string("q") + std::to_string(r);
      const std::uint64_t kind = rng_.below(3);  // 0: 1:n, 1: n:1, 2: n:n
      const bool many = kind != 1, inverse_many = kind != 0;
      entities_[a].relations.push_back(Relation{name, b, many});
      entities_[b].relations.push_back(Relation{inverse, a, inverse_many});
      entities_[a].declared.push_back(name + ": " + (many ? "many " : "one ") + entities_[b].name +
                                      " via " + (inverse_many ? "many " : "") + inverse);
    }
  }

  void derived_names(Entity& e) {
    const std::size_t n = 1 + rng_.below(3);
    for (std::size_t i = 0; i < n; ++i)
      e.derived.push_back(Field{std::string("d") + std::to_string(i), 'f'});
  }

  /// A numeric field of entity `e` to read: state, or derived (any of them, since another
  /// entity's are read through relations; `own_limit` bounds the own derived ones).
  std::string numeric(const Entity& e, std::size_t own_limit) {
    std::vector<std::string> names;
    for (const Field& f : e.state) {
      if (f.type == 'i' || f.type == 'f') names.push_back(f.name);
    }
    for (std::size_t i = 0; i < own_limit && i < e.derived.size(); ++i)
      names.push_back(e.derived[i].name);
    return names[rng_.below(names.size())];
  }
  const Field* boolean(const Entity& e) {
    for (const Field& f : e.state) {
      if (f.type == 'b') return &f;
    }
    return nullptr;
  }

  std::string term(const Entity& e, std::size_t index, int depth) {
    const std::uint64_t roll = rng_.below(100);
    if (roll < 30 || depth > 1 || e.relations.empty()) {
      if (roll < 8) return std::to_string(rng_.below(7));
      return numeric(e, index);
    }
    const Relation& r = e.relations[rng_.below(e.relations.size())];
    const Entity& t = entities_[r.target];
    if (!r.many) return r.name + "." + numeric(t, t.derived.size());
    static const char* kAggs[] = {"sum", "avg", "min", "max"};
    if (roll < 40) return std::string("count(") + r.name + ")";
    if (roll < 50) {
      if (const Field* b = boolean(t)) {
        return std::string("(if ") + (rng_.below(2) ? "any(" : "every(") + r.name + "[*]." +
               b->name + ") then 1 else 0)";
      }
    }
    if (roll < 58) {
      return std::string("wavg(") + r.name + "[*]." + numeric(t, t.derived.size()) + ", " + r.name +
             "[*]." + numeric(t, 0) + ")";
    }
    if (roll < 70) {
      // A nested pattern through a many-relation of the target.
      for (const Relation& r2 : t.relations) {
        if (!r2.many) continue;
        const Entity& u = entities_[r2.target];
        return std::string(kAggs[rng_.below(4)]) + "(" + r.name + "[*]." + r2.name + "[*]." +
               numeric(u, u.derived.size()) + ")";
      }
    }
    return std::string(kAggs[rng_.below(4)]) + "(" + r.name + "[*]." +
           numeric(t, t.derived.size()) + ")";
  }

  std::string formula(const Entity& e, std::size_t index) {
    const std::uint64_t roll = rng_.below(100);
    // `a` reads a field: a formula of constants would make a state field.
    const std::string a = numeric(e, index), b = term(e, index, 0);
    if (roll < 10) return std::string("self + ") + a;
    if (roll < 25) return std::string("if ") + a + " > " + b + " then " + a + " else " + b;
    static const char* kOps[] = {" + ", " - ", " * "};
    return a + kOps[rng_.below(3)] + b;
  }

  std::string entity_text(std::size_t index) {
    const Entity& e = entities_[index];
    std::string out = std::string("entity ") + e.name + " {\n";
    for (const Field& f : e.state) {
      static const auto type = [](char t) {
        return t == 'i' ? "int" : t == 'f' ? "float" : t == 'b' ? "bool" : "string";
      };
      const std::string init = f.type == 'i'   ? std::to_string(rng_.below(5))
                               : f.type == 'f' ? "0.5"
                               : f.type == 'b' ? "false"
                                               : "\"x\"";
      out += std::string("  ") + f.name + ": " + type(f.type) + " = " + init + "\n";
    }
    for (const std::string& r : e.declared) out += std::string("  ") + r + "\n";
    for (std::size_t i = 0; i < e.derived.size(); ++i) {
      out += std::string("  ") + e.derived[i].name + ": float = " + formula(e, i);
      if (rng_.below(8) == 0 && options_.lazy) out += " @lazy";
      out += "\n";
    }
    if (rng_.below(3) == 0) {
      out += std::string("  effect fx: ") + std::string(rng_.below(2) ? "bool" : "counter") +
             " when " + e.derived[0].name + " > " + std::to_string(rng_.below(20)) + "\n";
    }
    if (e.cycle) {
      out +=
          "  start: float = 0  end: float = 10  duration: float = 10\n"
          "  cycle schedule(start, end, duration) {\n"
          "    start = end - duration\n    end = start + duration @default\n"
          "    duration = end - start\n  }\n";
    }
    return out + "}\n";
  }

  Prng rng_;
  Options options_;
  std::vector<Entity> entities_;
};

}  // namespace mgraph::testing
