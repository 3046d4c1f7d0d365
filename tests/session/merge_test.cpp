// Several clients' transactions in one epoch (session/merge.hpp): merged, each is answered
// with its own ops' results and the shared commit; a failing commit runs each alone.

#include "mgraph/session/merge.hpp"

#include <gtest/gtest.h>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/store.hpp"
#include "mgraph/session/classifier.hpp"
#include "mgraph/session/executor.hpp"

namespace mgraph::session {
namespace {

/// Documents of `entity A { x: int = 1  y: int = 10 % x @fail_transaction }` (x = 0 fails
/// y's formula, which rolls its transaction back),
/// applied the way the cluster's driver applies a batch: no transaction left open.
class Documents {
 public:
  Documents()
      : store_(schema::compile_schema(schema::SourceFile{"a.mgs", "entity A { x: int = 1  y: int = 10 % x @fail_transaction }\n"})
                   .value()),
        executor_(store_) {}

  BatchResult run(const Batch& batch, bool* committed) {
    const auto before = store_.graph().revision();
    ++batches_run;
    BatchResult r = executor_.run(batch);
    if (store_.graph().in_transaction()) store_.reject();
    *committed = store_.graph().revision() != before;
    return r;
  }
  BatchRunner runner() {
    return [this](const Batch& b, bool* c) { return run(b, c); };
  }
  Value get(RecordId id, const char* field) { return store_.get(id, field).value(); }
  std::uint64_t revision() { return store_.graph().revision(); }

  std::size_t batches_run = 0;

 private:
  schema::Store store_;
  StoreExecutor executor_;
};

/// A batch of script lines; an alias names the create earlier in the same batch.
Batch batch(const std::vector<std::string>& lines) {
  Batch b;
  std::map<std::string, std::uint32_t, std::less<>> created;
  for (const std::string& line : lines) {
    std::optional<Classified> c = classify(line, [&](std::string_view name) -> Result<RecordRef> {
      if (auto it = created.find(name); it != created.end())
        return RecordRef{0, {it->second}, std::string(name)};
      return RecordRef{record_id_of(name).value_or(0), {}, std::string(name)};
    });
    if (!c->alias.empty()) created[c->alias] = static_cast<std::uint32_t>(b.size());
    b.push_back(std::move(c->op));
  }
  return b;
}

TEST(Merge, OnlyInputOpsEndingInTheirOneCommitMerge) {
  EXPECT_TRUE(mergeable(batch({"create A a x=2", "update #1 x=3", "commit"})));
  EXPECT_TRUE(mergeable(batch({"frobnicate", "update #1 x=3", "commit"})));
  EXPECT_FALSE(mergeable(batch({"update #1 x=3"})));                    // no commit
  EXPECT_FALSE(mergeable(batch({"commit"})));                           // nothing to merge
  EXPECT_FALSE(mergeable(batch({"update #1 x=3", "get #1.y", "commit"})));  // a read
  EXPECT_FALSE(mergeable(batch({"update #1 x=3", "reject", "update #1 x=4", "commit"})));
  EXPECT_FALSE(mergeable(batch({"undo", "update #1 x=3", "commit"})));
  EXPECT_FALSE(mergeable(batch({"update #1 x=3", "commit", "update #1 x=4", "commit"})));
}

TEST(Merge, TransactionsShareOneCommitAndKeepTheirOwnResults) {
  Documents d;
  bool committed = false;
  const std::vector<BatchResult> r = run_merged(
      {batch({"create A a x=2", "update a x=5", "commit"}), batch({"create A b x=4", "commit"}),
       batch({"update #1 x=7", "update #1 nosuch=1", "commit"})},
      d.runner(), &committed);
  EXPECT_TRUE(committed);
  EXPECT_EQ(d.batches_run, 1u);  // one transaction of the documents
  ASSERT_EQ(r.size(), 3u);
  ASSERT_EQ(r[0].size(), 3u);
  ASSERT_EQ(r[1].size(), 2u);
  ASSERT_EQ(r[2].size(), 3u);
  EXPECT_EQ(r[0][0].created, 1u);
  EXPECT_TRUE(r[0][1].status.is_ok());  // `a` named the create of its own batch
  EXPECT_EQ(r[1][0].created, 2u);
  EXPECT_TRUE(r[2][0].status.is_ok());
  EXPECT_EQ(r[2][1].status.code(), StatusCode::not_found) << r[2][1].status.message();
  // Every batch is answered with the one commit: one revision for all three.
  for (const BatchResult& b : r) {
    EXPECT_TRUE(b.back().status.is_ok());
    EXPECT_EQ(b.back().revision, 1u);
  }
  EXPECT_EQ(d.revision(), 1u);
  EXPECT_EQ(d.get(1, "x"), Value(std::int64_t{7}));
  EXPECT_EQ(d.get(2, "x"), Value(std::int64_t{4}));
}

TEST(Merge, AFailingCommitRunsEachTransactionAloneSoOnlyItsOwnFails) {
  Documents d;
  bool committed = false;
  run_merged({batch({"create A a", "commit"}), batch({"create A b", "commit"})}, d.runner(), &committed);
  ASSERT_EQ(d.revision(), 1u);
  d.batches_run = 0;
  const std::vector<BatchResult> r = run_merged(
      {batch({"update #1 x=5", "commit"}), batch({"update #2 x=0", "commit"}),  // 10 % 0 fails
       batch({"update #1 x=2", "commit"})},
      d.runner(), &committed);
  EXPECT_TRUE(committed);
  EXPECT_EQ(d.batches_run, 4u);  // the merged try, then each alone
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(r[0].back().status.is_ok());
  EXPECT_EQ(r[1].back().status.code(), StatusCode::formula_error) << r[1].back().status.message();
  EXPECT_TRUE(r[2].back().status.is_ok());
  EXPECT_EQ(r[0].back().revision, 2u);
  EXPECT_EQ(r[2].back().revision, 3u);
  EXPECT_EQ(d.get(1, "x"), Value(std::int64_t{2}));
  EXPECT_EQ(d.get(2, "x"), Value(std::int64_t{1}));  // its transaction was rolled back
}

TEST(Merge, BatchesThatCannotMergeRunAloneInOrder) {
  Documents d;
  bool committed = false;
  const std::vector<BatchResult> r = run_merged(
      {batch({"create A a x=3", "commit"}), batch({"get #1.y"}), batch({"update #1 x=5", "commit"})},
      d.runner(), &committed);
  EXPECT_TRUE(committed);
  EXPECT_EQ(d.batches_run, 3u);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1][0].value, Value(std::int64_t{1}));  // 10 % 3: after the first only
  EXPECT_EQ(d.revision(), 2u);
}

TEST(Merge, TwoAcksOfOneRecordsEffectAreNeverOneTransaction) {
  // Each ack lowers its effect by one; in one transaction two would lower it once.
  std::vector<Batch> ran;
  const BatchRunner runner = [&](const Batch& b, bool* c) {
    ran.push_back(b);
    *c = true;
    return BatchResult(b.size());
  };
  bool committed = false;
  const std::vector<BatchResult> r =
      run_merged({batch({"ack #1.e", "commit"}), batch({"ack #2.e", "commit"}), batch({"ack #1.f", "commit"}),
                  batch({"ack #1.e", "commit"}), batch({"update #1 x=1", "commit"}), batch({"ack #2.e", "commit"})},
                 runner, &committed);
  EXPECT_TRUE(committed);
  ASSERT_EQ(r.size(), 6u);
  for (const BatchResult& b : r) EXPECT_EQ(b.size(), 2u);
  // The first three merged; the second ack of #1.e starts a group, which takes the rest
  // (#2.e's second ack is the first of this group).
  ASSERT_EQ(ran.size(), 2u);
  EXPECT_EQ(ran[0].size(), 4u);
  EXPECT_EQ(ran[1].size(), 4u);
  EXPECT_EQ(ran[1][0].refs[0].id, 1u);
  EXPECT_EQ(ran[1][2].refs[0].id, 2u);
}

}  // namespace
}  // namespace mgraph::session
