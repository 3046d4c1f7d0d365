#include "mgraph/session/merge.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <span>
#include <string_view>
#include <utility>

namespace mgraph::session {

bool mergeable(const Batch& batch) {
  if (batch.size() < 2 || batch.back().kind != OpKind::commit) return false;
  return std::all_of(batch.begin(), batch.end() - 1,
                     [](const Op& op) { return is_mutation(op.kind) || op.kind == OpKind::invalid; });
}

namespace {

std::vector<BatchResult> run_alone(std::span<const Batch> batches, const BatchRunner& run,
                                   bool* committed) {
  std::vector<BatchResult> out;
  out.reserve(batches.size());
  for (const Batch& b : batches) {
    bool c = false;
    out.push_back(run(b, &c));
    *committed = *committed || c;
  }
  return out;
}

/// Runs `batches` as one transaction when they may share one, else each alone.
std::vector<BatchResult> run_group(std::span<const Batch> batches, const BatchRunner& run, bool* committed) {
  *committed = false;
  std::size_t ops = 0;
  for (const Batch& b : batches) ops += b.size();
  const bool merge = batches.size() >= 2 && batches.size() <= kMergedBatchesMax && ops <= kMergedOpsMax &&
                     std::all_of(batches.begin(), batches.end(), mergeable);
  if (!merge) return run_alone(batches, run, committed);
  // Every batch's ops but its commit, in order; a record created earlier in a batch is
  // named by the index of its create, which moves by the ops before the batch.
  Batch all;
  all.reserve(ops - batches.size() + 1);
  std::vector<std::size_t> first;
  for (const Batch& b : batches) {
    const auto offset = static_cast<std::uint32_t>(all.size());
    first.push_back(all.size());
    for (std::size_t i = 0; i + 1 < b.size(); ++i) {
      Op op = b[i];
      for (RecordRef& ref : op.refs) {
        for (std::uint32_t& by : ref.created_by) by += offset;
      }
      all.push_back(std::move(op));
    }
  }
  all.push_back(batches.back().back());
  bool c = false;
  BatchResult results = run(all, &c);
  if (results.size() != all.size() || !results.back().status.is_ok()) {
    // The commit failed and applied nothing: each transaction alone.
    return run_alone(batches, run, committed);
  }
  *committed = c;
  std::vector<BatchResult> out(batches.size());
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const std::size_t n = batches[k].size() - 1;
    out[k].assign(results.begin() + static_cast<std::ptrdiff_t>(first[k]),
                  results.begin() + static_cast<std::ptrdiff_t>(first[k] + n));
    out[k].push_back(results.back());
  }
  return out;
}

}  // namespace

std::vector<BatchResult> run_merged(const std::vector<Batch>& batches, const BatchRunner& run,
                                    bool* committed) {
  *committed = false;
  // An ack lowers its effect by one, and two proposals of one node in a transaction are
  // one: a batch acking a record's effect that an earlier batch of the group acks starts a
  // new group. Groups run in order, each merged.
  std::vector<BatchResult> out;
  out.reserve(batches.size());
  std::set<std::pair<RecordId, std::string_view>> acked;
  std::size_t start = 0;
  auto run_from = [&](std::size_t end) {
    bool c = false;
    for (BatchResult& r : run_group(std::span<const Batch>(batches).subspan(start, end - start), run, &c)) {
      out.push_back(std::move(r));
    }
    *committed = *committed || c;
    start = end;
    acked.clear();
  };
  // An ack of an existing record (one created in its batch is no other batch's).
  auto acks = [](const Op& op) {
    return op.kind == OpKind::ack && !op.refs.empty() && op.refs[0].created_by.empty() && op.refs[0].id != 0;
  };
  for (std::size_t k = 0; k < batches.size(); ++k) {
    if (std::any_of(batches[k].begin(), batches[k].end(),
                    [&](const Op& op) { return acks(op) && acked.count({op.refs[0].id, op.name}) != 0; })) {
      run_from(k);
    }
    for (const Op& op : batches[k]) {
      if (acks(op)) acked.emplace(op.refs[0].id, op.name);
    }
  }
  run_from(batches.size());
  return out;
}

}  // namespace mgraph::session
