#pragma once
// Several clients' transactions in one epoch: the cluster's batching. The transactions
// that reach the sequencer together run as one transaction of the documents — their ops in
// order, then one commit — so the partitions' protocol runs once for all of them. When
// that commit fails (a formula error, a rejection, a cycle), nothing of it was applied and
// each transaction runs again alone, in order: one transaction's failure fails no other,
// and running the same group again (a replay of the log) gives the same outcomes.
//
// Only transactions that cannot tell they shared an epoch are merged: input ops and a
// final commit, no read (it would see the others' writes before their commit), no reject,
// undo or redo (they act on the whole open transaction or on the last revision), and no
// two acknowledgements of the same record's effect (each lowers it by one, but two
// proposals of one node in a transaction are one): such a transaction starts a new merged
// group, and the groups run one after the other in the epoch. Each of
// them is answered with its own ops' results and the shared commit's (its revision, and
// the fields the whole epoch changed).

#include <cstddef>
#include <functional>
#include <vector>

#include "mgraph/session/operation.hpp"

namespace mgraph::session {

/// Transactions in one merged epoch at most, whatever a configuration asks: a bound on the
/// work one failure repeats (each runs again alone).
inline constexpr std::size_t kMergedBatchesMax = 1024;
/// Operations of one merged epoch at most (the transactions' ops together).
inline constexpr std::size_t kMergedOpsMax = std::size_t{1} << 16;

/// Whether `batch` may share an epoch with others: create, update, delete, link, unlink,
/// set, ack and lines that did not parse, then one commit, its last op.
bool mergeable(const Batch& batch);

/// Applies a batch to the documents; `committed`: whether their revision moved.
using BatchRunner = std::function<BatchResult(const Batch& batch, bool* committed)>;

/// Runs `batches` as one epoch (above); one result per op of each batch. `committed`:
/// whether the documents' revision moved. Groups that are not all mergeable run alone.
std::vector<BatchResult> run_merged(const std::vector<Batch>& batches, const BatchRunner& run,
                                    bool* committed);

}  // namespace mgraph::session
