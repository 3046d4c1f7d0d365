#pragma once
// Structured mutations of a session image for the image fuzz target (image_fuzz.cpp):
// one call changes one thing an import must check, as data rather than as bytes, so
// that the image still decodes and still has the shape of the fuzz schema. Most changes
// are small (a height one off, one flag, one stamp, one edge), since those are the ones
// a range check lets through.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mgraph/graph/image.hpp"
#include "mgraph/graph/schema/store_image.hpp"
#include "support/prng.hpp"

namespace mgraph::fuzz {

/// The tests' one seeded generator (tests/support/prng.hpp); libFuzzer passes the seed.
using Rng = mgraph::testing::Prng;

/// True one time in n. REQUIRES: n > 0.
inline bool one_in(Rng& rng, std::uint64_t n) { return rng.below(n) == 0; }

/// Bits of GraphImage::meta below the height (image.hpp; graph_state.hpp asserts it).
inline constexpr std::uint32_t kMetaFlagBits = kImageFlagBits;

/// A node id: nearly always one of the n nodes, now and then just past them.
inline NodeId any_node(Rng& rng, std::size_t n) {
  if (n == 0 || one_in(rng, 16)) return static_cast<NodeId>(n + rng.below(2));
  return static_cast<NodeId>(rng.below(n));
}

inline Value any_value(Rng& rng) {
  switch (rng.below(7)) {
    case 0:
      return Value();
    case 1:
      return Value(one_in(rng, 2));
    case 2:
      return Value(static_cast<std::int64_t>(rng.below(300)) - 100);
    case 3:
      return Value(static_cast<double>(rng.below(2000)) / 4 - 100);
    case 4:
      return Value(one_in(rng, 2) ? "big" : "small");
    case 5:
      return Value(Tensor::scalar(static_cast<double>(rng.below(10))));
    default:
      return Value(std::int64_t{INT64_MAX});
  }
}

/// A stamp near `stamp`: 0 (never), the stamp itself, one either side, or any.
inline std::uint32_t any_stamp(Rng& rng, std::uint32_t stamp) {
  switch (rng.below(5)) {
    case 0:
      return 0;
    case 1:
      return stamp;
    case 2:
      return stamp + 1;
    case 3:
      return stamp - 1;
    default:
      return static_cast<std::uint32_t>(rng.next());
  }
}

template <typename T>
T* any_of(Rng& rng, std::vector<T>& v) {
  return v.empty() ? nullptr : &v[rng.below(v.size())];
}

/// Whether offsets + ids describe n lists (the import checks more: this is what the
/// mutations below need to stay in bounds).
inline bool lists_ok(const std::vector<std::uint64_t>& offsets, const std::vector<NodeId>& ids,
                     std::size_t n) {
  if (offsets.size() != n + 1 || offsets.front() != 0 || offsets.back() != ids.size()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    if (offsets[i] > offsets[i + 1]) return false;
  }
  return true;
}

/// Inserts `id` into list `node` of an offsets + ids encoding. REQUIRES: node < n.
inline void add_to_list(std::vector<std::uint64_t>& offsets, std::vector<NodeId>& ids,
                        std::size_t node, NodeId id) {
  ids.insert(ids.begin() + static_cast<std::ptrdiff_t>(offsets[node + 1]), id);
  for (std::size_t i = node + 1; i < offsets.size(); ++i) ++offsets[i];
}

/// Removes the k-th entry of list `node`. REQUIRES: the list has more than k entries.
inline void remove_from_list(std::vector<std::uint64_t>& offsets, std::vector<NodeId>& ids,
                             std::size_t node, std::size_t k) {
  ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(offsets[node] + k));
  for (std::size_t i = node + 1; i < offsets.size(); ++i) --offsets[i];
}

inline void mutate_record(RevisionRecord& r, Rng& rng, std::size_t n) {
  switch (rng.below(6)) {
    case 0:
      if (JournalEntry* e = any_of(rng, r.values)) {
        if (one_in(rng, 2))
          e->node = any_node(rng, n);
        else
          e->value = any_value(rng);
      } else {
        r.values.push_back(JournalEntry{any_node(rng, n), 1, any_value(rng)});
      }
      return;
    case 1:
      if (DepsEntry* e = any_of(rng, r.deps)) {
        if (NodeId* d = any_of(rng, e->deps))
          *d = any_node(rng, n);
        else
          e->deps.push_back(any_node(rng, n));
      } else {
        r.deps.push_back(DepsEntry{any_node(rng, n), {any_node(rng, n)}});
      }
      return;
    case 2:
      if (Freshened* f = any_of(rng, r.freshened))
        f->was_stale = !f->was_stale;
      else
        r.freshened.push_back(Freshened{any_node(rng, n), 1, one_in(rng, 2)});
      return;
    case 3:
      r.left_stale.push_back(any_node(rng, n));
      return;
    case 4:
      std::swap(r.before, r.after);
      return;
    default:
      r.pull_segment = !r.pull_segment;
      return;
  }
}

inline void mutate_history(std::vector<RevisionRecord>& stack, Rng& rng, std::size_t n) {
  switch (rng.below(4)) {
    case 0:
      if (!stack.empty())
        stack.erase(stack.begin() + static_cast<std::ptrdiff_t>(rng.below(stack.size())));
      return;
    case 1:
      if (!stack.empty()) {
        RevisionRecord copy = stack[rng.below(stack.size())];
        stack.push_back(std::move(copy));
      }
      return;
    default:
      if (RevisionRecord* r = any_of(rng, stack)) {
        if (RevisionRecord* a = any_of(rng, r->after_pulls); a != nullptr && one_in(rng, 2)) r = a;
        mutate_record(*r, rng, n);
      }
      return;
  }
}

inline void mutate_graph(GraphImage& g, Rng& rng) {
  const std::size_t n = g.values.size();
  const bool nodes = n > 0 && g.meta.size() == n && g.changed_at.size() == n &&
                     g.computed_at.size() == n && lists_ok(g.dep_offsets, g.dep_ids, n) &&
                     lists_ok(g.rdep_offsets, g.rdep_ids, n);
  const std::size_t x = nodes ? rng.below(n) : 0;
  switch (rng.below(nodes ? 16 : 4)) {
    case 0:
      g.stamp = any_stamp(rng, g.stamp);
      return;
    case 1:
      if (one_in(rng, 2))
        g.revision = g.next_revision - rng.below(3);
      else
        g.next_revision = g.revision + rng.below(3);
      return;
    case 2:
      mutate_history(one_in(rng, 3) ? g.redo : one_in(rng, 2) ? g.undo : g.ambient, rng, n);
      return;
    case 3: {
      auto& list = one_in(rng, 3) ? g.forced : one_in(rng, 2) ? g.pending_new : g.last_changed;
      if (!list.empty() && one_in(rng, 2))
        list.pop_back();
      else
        list.push_back(any_node(rng, n));
      return;
    }
    case 4:
      g.meta[x] ^= 1u;  // stale
      return;
    case 5:
      g.meta[x] ^= 1u << rng.below(kMetaFlagBits);
      return;
    case 6: {  // a height one off, or any small height
      const std::uint32_t h = g.meta[x] >> kMetaFlagBits;
      const std::uint32_t nh = one_in(rng, 3)   ? static_cast<std::uint32_t>(rng.below(8))
                               : one_in(rng, 2) ? h + 1
                                                : h - 1;
      g.meta[x] = (nh << kMetaFlagBits) | (g.meta[x] & ((1u << kMetaFlagBits) - 1));
      return;
    }
    case 7:
      g.values[x] = one_in(rng, 2) ? any_value(rng) : g.values[rng.below(n)];
      return;
    case 8:
      if (one_in(rng, 2))
        g.changed_at[x] = any_stamp(rng, g.stamp);
      else
        g.computed_at[x] = any_stamp(rng, g.stamp);
      return;
    case 9: {  // an edge on both sides, so that only heights and staleness can object
      const NodeId d = any_node(rng, n - 1);
      add_to_list(g.dep_offsets, g.dep_ids, x, d);
      if (d < n) add_to_list(g.rdep_offsets, g.rdep_ids, d, static_cast<NodeId>(x));
      return;
    }
    case 10: {  // an edge off one side (or both)
      const std::size_t deps = g.dep_offsets[x + 1] - g.dep_offsets[x];
      if (deps == 0) return;
      const std::size_t k = rng.below(deps);
      const NodeId d = g.dep_ids[g.dep_offsets[x] + k];
      remove_from_list(g.dep_offsets, g.dep_ids, x, k);
      if (d >= n || one_in(rng, 4)) return;
      for (std::size_t j = g.rdep_offsets[d]; j < g.rdep_offsets[d + 1]; ++j) {
        if (g.rdep_ids[j] == x) {
          remove_from_list(g.rdep_offsets, g.rdep_ids, d, j - g.rdep_offsets[d]);
          return;
        }
      }
      return;
    }
    case 11:
      if (NodeId* d = any_of(rng, one_in(rng, 2) ? g.dep_ids : g.rdep_ids)) *d = any_node(rng, n);
      return;
    case 12:
      if (std::vector<bool>* k = any_of(rng, g.group_keep); k != nullptr && !k->empty()) {
        const std::size_t i = rng.below(k->size());
        (*k)[i] = !(*k)[i];
      }
      return;
    case 13:
      g.txn_first_stamp = any_stamp(rng, g.stamp);
      return;
    case 14:
      g.stamp_computed = !g.stamp_computed;
      return;
    default:  // a stale mark spread to everything downstream: often consistent
      for (std::size_t j = g.rdep_offsets[x]; j < g.rdep_offsets[x + 1]; ++j) {
        if (g.rdep_ids[j] < n) g.meta[g.rdep_ids[j]] |= 1u;
      }
      g.meta[x] |= 1u;
      return;
  }
}

inline void mutate_store(schema::StoreImage& s, Rng& rng) {
  const std::size_t records = s.records.size();
  schema::RecordImage* r = any_of(rng, s.records);
  switch (rng.below(8)) {
    case 0:
      if (r != nullptr) r->entity = static_cast<std::uint32_t>(rng.below(4));
      return;
    case 1:
      if (r != nullptr) r->base = one_in(rng, 2) ? kNoNode : r->base + 1;
      return;
    case 2:
      if (r != nullptr) r->has_collections = !r->has_collections;
      return;
    case 3:  // a member added, removed or renamed
      if (r == nullptr) return;
      if (std::vector<schema::RecordId>* m = any_of(rng, r->members)) {
        if (!m->empty() && one_in(rng, 2))
          m->erase(m->begin() + static_cast<std::ptrdiff_t>(rng.below(m->size())));
        else
          m->push_back(rng.below(records + 2));
      }
      return;
    case 4:
      if (r == nullptr) return;
      if (auto* bag = any_of(rng, r->bags)) {
        if (!bag->empty() && one_in(rng, 2))
          bag->back().second = static_cast<std::uint32_t>(rng.below(3));
        else
          bag->emplace_back(static_cast<double>(rng.below(200)), 1u);
      }
      return;
    case 5:
      if (std::uint64_t* v = any_of(rng, s.versions)) *v = rng.below(4);
      return;
    case 6: {
      auto& steps = one_in(rng, 2) ? s.undo : s.redo;
      if (std::vector<schema::StoreOpImage>* ops = any_of(rng, steps);
          ops != nullptr && !ops->empty()) {
        schema::StoreOpImage& o = (*ops)[rng.below(ops->size())];
        if (one_in(rng, 2))
          o.other = rng.below(records + 2);
        else
          o.insert = !o.insert;
      } else if (!steps.empty() && one_in(rng, 2)) {
        steps.pop_back();
      }
      return;
    }
    default:
      if (records > 0 && one_in(rng, 2)) s.records.pop_back();
      return;
  }
}

/// One structured change to `im`: the graph's state, the Store's or the aliases.
inline void mutate_image(schema::RunnerImage* im, Rng& rng) {
  const std::uint64_t p = rng.below(10);
  if (p < 6) {
    mutate_graph(im->store.graph, rng);
  } else if (p < 9) {
    mutate_store(im->store, rng);
  } else if (!im->aliases.empty() && one_in(rng, 2)) {
    im->aliases.back().second = rng.below(im->store.records.size() + 2);
  } else {
    im->aliases.emplace_back("a" + std::to_string(rng.below(4)),
                             rng.below(im->store.records.size() + 2));
  }
}

}  // namespace mgraph::fuzz
