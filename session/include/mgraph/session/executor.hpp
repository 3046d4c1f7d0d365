#pragma once
// Applies typed operations to a document Store, in order, as the lines of a script run:
// the one place where an Op meets the Store. The embedded `mgraph eval` gives it one op
// at a time; a cluster node gives it a client's whole batch.

#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::session {

class StoreExecutor {
 public:
  /// REQUIRES: `store` outlives the executor.
  explicit StoreExecutor(schema::Store& store) : store_(store) {}

  /// Applies `op`; `earlier` holds the results of the ops before it in its batch (the
  /// records its RecordRefs may name).
  OpResult apply(const Op& op, const BatchResult& earlier);

  /// Applies every op of `batch` in order. The Store's open transaction, if any, stays
  /// open: the caller decides whether a batch may leave one.
  BatchResult run(const Batch& batch);

  /// The record a reference names, given the results of the ops before it.
  static Result<RecordId> resolve(const RecordRef& ref, const BatchResult& earlier);
  /// resolve(), and for `global` a check that the store's schema has global values.
  Result<RecordId> record(const RecordRef& ref, const BatchResult& earlier) const;

 private:
  Status mutate(const Op& op, const BatchResult& earlier, OpResult* out);
  Status read(const Op& op, const BatchResult& earlier, OpResult* out);
  /// commit, undo, redo: the revision after it and the fields it changed.
  void transition_result(OpResult* out);

  schema::Store& store_;
};

}  // namespace mgraph::session
