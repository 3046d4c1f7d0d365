#pragma once
// Random scripts of the script language over any compiled schema, for differential tests:
// the same script runs two ways (embedded line by line, batched through the codec, on a
// cluster) and the outputs must be the same bytes. Lines name the schema's entities,
// fields and relations; some are wrong on purpose (unknown names, bad values, computed
// fields written, records deleted or rolled back) so that error paths are compared too.

#include <cstdint>
#include <string>
#include <vector>

#include "mgraph/graph/schema/schema.hpp"
#include "support/prng.hpp"

namespace mgraph::testing {

class ScriptGenerator {
 public:
  ScriptGenerator(const schema::Schema& schema, std::uint64_t seed) : s_(schema), rng_(seed) {}

  /// A script of `lines` lines (each loop iteration adds one).
  std::string script(std::size_t lines) {
    std::string out;
    for (std::size_t i = 0; i < lines; ++i) out += line() + "\n";
    return out;
  }

  std::string line() {
    const std::uint64_t roll = rng_.below(100);
    if (aliases_.empty() || roll < 15) return create();
    if (roll < 32) return update();
    if (roll < 46) return link(true);
    if (roll < 50) return link(false);
    if (roll < 52) return "delete " + any_ref();
    if (roll < 57) return set();
    if (roll < 71) return get("get");
    if (roll < 72) return get("explain");
    if (roll < 88) return transition("commit");
    if (roll < 90) return "reject";
    if (roll < 94) return transition("undo");
    if (roll < 96) return transition("redo");
    if (roll < 97) return "# a comment";
    return junk();
  }

 private:
  struct Alias {
    std::string name;
    std::uint32_t entity;
  };

  const schema::EntityDef& entity(std::uint32_t e) const { return s_.entities[e]; }

  std::string create() {
    // Link entities (relation properties) are made by links: not created by name.
    std::vector<std::uint32_t> creatable;
    for (std::uint32_t k = 0; k < s_.entities.size(); ++k) {
      if (s_.entities[k].link_of == schema::kNone) creatable.push_back(k);
    }
    const std::uint32_t e = creatable[rng_.below(creatable.size())];
    // Aliases are reused now and then: a name may be given twice.
    std::string name = "r";
    name += std::to_string(rng_.below(3 * aliases_.size() + 4));
    // A name given again means the new record once its creation stands: keep the latest.
    bool known = false;
    for (Alias& a : aliases_) {
      if (a.name == name) {
        a.entity = e;
        known = true;
      }
    }
    if (!known) aliases_.push_back(Alias{name, e});
    return "create " + entity(e).name + " " + name + assignments(e, 2);
  }

  std::string update() {
    const Alias& a = pick_alias();
    return "update " + a.name + assignments(a.entity, 1 + rng_.below(2)) + keep(a.entity);
  }

  /// Now and then keep=MEMBER for an entity with a cycle group (only those draw from the
  /// generator here, so scripts over schemas without groups stay as they were).
  std::string keep(std::uint32_t e) {
    std::vector<const schema::FieldDef*> members;
    for (const schema::FieldDef& f : entity(e).fields) {
      if (f.kind == schema::FieldKind::member) members.push_back(&f);
    }
    if (members.empty() || rng_.below(3) != 0) return "";
    return " keep=" + members[rng_.below(members.size())]->name;
  }

  std::string set() {
    const Alias& a = pick_alias();
    const schema::EntityDef& e = entity(a.entity);
    if (e.fields.empty()) return "set " + a.name + ".nothing = 1";
    const schema::FieldDef& f = e.fields[rng_.below(e.fields.size())];
    return "set " + a.name + "." + f.name + " = " + value(f.type);
  }

  std::string link(bool insert) {
    const Alias& a = pick_alias();
    const schema::EntityDef& e = entity(a.entity);
    if (e.relations.empty()) return std::string(insert ? "link " : "unlink ") + a.name + ".none " + a.name;
    // Relations to link records are kept by the store: not linked by name.
    std::vector<const schema::RelationDef*> named;
    for (const schema::RelationDef& d : e.relations) {
      if (!d.hidden) named.push_back(&d);
    }
    if (named.empty()) return std::string(insert ? "link " : "unlink ") + a.name + ".none " + a.name;
    const schema::RelationDef& r = *named[rng_.below(named.size())];
    // Mostly a record of the right entity; sometimes any record, which may be refused.
    std::string other = any_ref();
    for (std::size_t tries = 0; tries < 8 && rng_.below(10) < 9; ++tries) {
      const Alias& b = pick_alias();
      if (b.entity == r.target) {
        other = b.name;
        break;
      }
    }
    if (r.link == schema::kNone) {
      return std::string(insert ? "link " : "unlink ") + a.name + "." + r.name + " " + other;
    }
    // A relation with properties (only those draw from the generator here, so scripts
    // over schemas without them stay as they were): values at link, and update-link.
    const std::uint32_t props = e.relations[r.link].target;
    if (rng_.below(3) == 0) {
      return "update-link " + a.name + "." + r.name + " " + other + " " +
             assignments(props, 1 + rng_.below(2));
    }
    if (!insert) return "unlink " + a.name + "." + r.name + " " + other;
    return "link " + a.name + "." + r.name + " " + other + assignments(props, rng_.below(3));
  }

  std::string transition(const char* word) {
    ++transitions_;
    return word;
  }

  std::string get(const char* cmd) {
    const Alias& a = pick_alias();
    const schema::EntityDef& e = entity(a.entity);
    const std::size_t n = e.fields.size() + e.relations.size();
    if (n == 0 || rng_.below(20) == 0) return std::string(cmd) + " " + a.name + ".missing";
    const std::size_t k = rng_.below(n);
    const std::string& name = k < e.fields.size() ? e.fields[k].name : e.relations[k - e.fields.size()].name;
    std::string out = std::string(cmd) + " " + a.name + "." + name;
    // A read at a past revision: one undo or redo reaches, or not.
    if (cmd[0] == 'g' && rng_.below(4) == 0) out += " at " + std::to_string(rng_.below(transitions_ + 2));
    return out;
  }

  std::string junk() {
    static const char* kJunk[] = {"frobnicate", "update", "update nobody x=1", "link a",
                                  "create", "get x", "commit now", "set #999.x = 1",
                                  "create Nothing n1", "update #1 =", "delete #0"};
    return kJunk[rng_.below(sizeof kJunk / sizeof kJunk[0])];
  }

  std::string assignments(std::uint32_t e, std::size_t n) {
    std::string out;
    const schema::EntityDef& d = entity(e);
    for (std::size_t i = 0; i < n && !d.fields.empty(); ++i) {
      const schema::FieldDef& f = d.fields[rng_.below(d.fields.size())];
      // Mostly state fields; now and then a computed one, which is refused.
      if (f.kind != schema::FieldKind::state && f.kind != schema::FieldKind::member &&
          rng_.below(8) != 0) {
        continue;
      }
      out += " " + f.name + "=" + value(f.type);
    }
    return out;
  }

  std::string value(schema::Type t) {
    if (rng_.below(25) == 0) return "\"oops\"";  // mostly the wrong type
    switch (t) {
      case schema::Type::boolean:
        return rng_.below(2) ? "true" : "false";
      case schema::Type::integer:
        return std::to_string(static_cast<std::int64_t>(rng_.below(200)) - 50);
      case schema::Type::real:
        return std::to_string(static_cast<std::int64_t>(rng_.below(400)) - 100) + ".5";
      case schema::Type::string:
        return "\"s" + std::to_string(rng_.below(5)) + "\"";
      default:
        return std::to_string(rng_.below(10));
    }
  }

  const Alias& pick_alias() { return aliases_[rng_.below(aliases_.size())]; }
  std::string any_ref() {
    if (rng_.below(6) != 0) return pick_alias().name;
    std::string ref = "#";  // appended, not "#" + ...: GCC 12 warns wrongly (-Wrestrict)
    ref += std::to_string(1 + rng_.below(aliases_.size() + 2));
    return ref;
  }

  const schema::Schema& s_;
  std::uint64_t transitions_ = 0;  ///< commit, undo and redo lines so far
  Prng rng_;
  std::vector<Alias> aliases_;
};

}  // namespace mgraph::testing
