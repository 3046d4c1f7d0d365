// The script client: line by line against a Store in this process, it prints exactly what
// `mgraph eval` prints for every example; batched through the codec to a Store that
// closes every batch's transaction (as a cluster does), it prints the same bytes as line
// by line, for the examples and for random scripts with errors on purpose.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "mgraph/codec/session_codec.hpp"
#include "mgraph/session/client.hpp"
#include "support/schema_gen.hpp"
#include "support/schema_files.hpp"
#include "support/script_outcome.hpp"
#include "support/script_gen.hpp"

namespace mgraph::session {
namespace {

namespace fs = std::filesystem;

using testing::Outcome;
using testing::run_script;
const auto embedded = testing::run_embedded;

std::vector<fs::path> examples() { return testing::scripted_examples(MGRAPH_EXAMPLES_DIR); }

using testing::compile_file;
using testing::read_file;


/// A backend as a cluster node is one: batches arrive as bytes, run on its own Store, and
/// a batch may not leave a transaction open (the next batch may be another client's).
class LoopbackBackend final : public Backend {
 public:
  explicit LoopbackBackend(std::shared_ptr<const schema::Schema> schema)
      : store_(std::move(schema)), executor_(store_) {}
  Result<BatchResult> run(const Batch& batch) override {
    Result<std::string> request = codec::encode_batch(batch);
    if (!request.is_ok()) return request.status();
    Result<Batch> received = codec::decode_batch(*request);
    if (!received.is_ok()) return received.status();
    EXPECT_EQ(*received, batch);
    BatchResult results = executor_.run(*received);
    if (store_.graph().in_transaction()) store_.reject();
    ++batches_;
    Result<std::string> answer = codec::encode_batch_result(results);
    if (!answer.is_ok()) return answer.status();
    return codec::decode_batch_result(*answer);
  }
  std::size_t batches() const { return batches_; }

 private:
  schema::Store store_;
  StoreExecutor executor_;
  std::size_t batches_ = 0;
};

Outcome batched(std::shared_ptr<const schema::Schema> schema, const std::string& script,
            std::size_t* batches = nullptr) {
  LoopbackBackend backend(std::move(schema));
  ScriptClient client(backend, ClientOptions{.batch_transactions = true, .print = {}});
  Outcome r = run_script(client, script);
  if (batches != nullptr) *batches = backend.batches();
  return r;
}

TEST(ScriptClient, PrintsWhatEvalPrintsForEveryExample) {
  const std::vector<fs::path> found = examples();
  ASSERT_GE(found.size(), 5u);
  for (const fs::path& mgs : found) {
    SCOPED_TRACE(mgs.string());
    auto schema = compile_file(mgs);
    ASSERT_NE(schema, nullptr);
    const std::string script = read_file(fs::path(mgs).replace_extension(".mgscript"));
    const std::string expected = read_file(fs::path(mgs).replace_extension(".expected"));
    EXPECT_EQ(embedded(schema, script).out, expected);
    EXPECT_EQ(batched(schema, script).out, expected);
  }
}

TEST(StoreExecutor, AnOpWithoutTheRecordsItsKindNamesIsAnErrorNotACrash) {
  auto schema = compile_file(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs");
  ASSERT_NE(schema, nullptr);
  schema::Store store(schema);
  StoreExecutor executor(store);
  Batch batch(3);
  batch[0].kind = OpKind::get;  // no record
  batch[1].kind = OpKind::link;
  batch[1].refs.push_back(RecordRef{1, {}, "#1"});
  batch[2].kind = OpKind::create;
  batch[2].entity = "Order";
  const BatchResult r = executor.run(batch);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].status.message(), "a get operation names 1 records, not 0");
  EXPECT_EQ(r[1].status.code(), StatusCode::invalid_argument);
  EXPECT_TRUE(r[2].status.is_ok());
  EXPECT_EQ(r[2].created, 1u);
}

TEST(ScriptClient, BatchesTheLinesOfATransaction) {
  auto schema = compile_file(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs");
  ASSERT_NE(schema, nullptr);
  const std::string script =
      "create Order o1\ncreate Item i1 price=10\nlink o1.items i1\nget o1.subtotal\ncommit\n"
      "get o1.subtotal\nundo\nget o1.subtotal\n";
  std::size_t batches = 0;
  const Outcome b = batched(schema, script, &batches);
  // One batch for the transaction, then one for each line outside a transaction.
  EXPECT_EQ(batches, 4u);
  EXPECT_EQ(b.out, embedded(schema, script).out);
  EXPECT_NE(b.out.find("\"value\":10"), std::string::npos) << b.out;
}

TEST(ScriptClient, ANameGivenTwiceInABatchMeansTheLatestCreationThatStood) {
  auto schema = compile_file(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs");
  ASSERT_NE(schema, nullptr);
  // The second creation of o1 fails (a computed field is given), so o1 keeps meaning the
  // first; a create that fails in a batch leaves an alias unknown as it was.
  const std::string script =
      "create Order o1 discount=0.5\ncreate Order o1 total=3\nget o1.discount\n"
      "create Order o2 total=1\nget o2.discount\nupdate o2 discount=1 extra\ncommit\n"
      "get o1.discount\nget #1.discount\n";
  const Outcome e = embedded(schema, script);
  EXPECT_EQ(batched(schema, script).out, e.out);
  EXPECT_NE(e.out.find("{\"get\":\"o1.discount\",\"value\":0.5"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("unknown record 'o2'"), std::string::npos) << e.out;
  EXPECT_EQ(e.failed, 4u);
}

// `Entity#N` names record N only if it is of that entity (`#N` names it whatever it is):
// embedded and through a backend alike.
TEST(ScriptClient, ARecordNamedWithItsEntityMustBeOfThatEntity) {
  auto compiled = schema::compile_schema(
      schema::SourceFile{"two.mgs", "entity A { x: int = 0 }\nentity B { x: int = 0 }\n"});
  ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
  const auto schema = std::move(compiled).value();
  const std::string script =
      "create A a x=1\ncreate B b x=2\ncommit\n"
      "get A#1.x\nget B#1.x\nget #1.x\nget B#2.x\nupdate B#1 x=5\ncommit\nget #1.x\n";
  const Outcome e = embedded(schema, script);
  EXPECT_EQ(batched(schema, script).out, e.out);
  EXPECT_NE(e.out.find(R"({"get":"A#1.x","value":1)"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("no B #1 (record #1 is of entity A)"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find(R"({"get":"#1.x","value":1)"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find(R"({"get":"B#2.x","value":2)"), std::string::npos) << e.out;
  EXPECT_EQ(e.failed, 2u) << e.out;  // the get and the update naming B#1
  EXPECT_EQ(e.out.find(R"("value":5)"), std::string::npos) << e.out;
}

TEST(ScriptClient, EchoesCommitsUndosAndRedosWhenAsked) {
  auto schema = compile_file(fs::path(MGRAPH_EXAMPLES_DIR) / "order_total.mgs");
  ASSERT_NE(schema, nullptr);
  schema::Store store(schema);
  StoreBackend backend(store);
  ScriptClient client(backend, ClientOptions{.batch_transactions = false, .print = {.echo_transitions = true}});
  const Outcome r = run_script(client, "create Item i price=2\ncommit\nundo\nredo\ncommit\n");
  // The create, the item's exists flag, price and relation defaults: the commit's count.
  EXPECT_EQ(r.out.substr(0, 12), "{\"commit\":1,");
  EXPECT_NE(r.out.find("{\"undo\":"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("{\"redo\":"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"changed\":0}"), std::string::npos) << r.out;  // the empty commit
}

TEST(ScriptClient, RandomScriptsPrintTheSameBatchedAsLineByLine) {
  std::size_t scripts = 0;
  for (const fs::path& mgs : examples()) {
    auto schema = compile_file(mgs);
    ASSERT_NE(schema, nullptr);
    for (std::uint64_t seed = 1; seed <= 25; ++seed) {
      testing::ScriptGenerator gen(*schema, seed * 7919 + scripts);
      const std::string script = gen.script(150);
      const Outcome e = embedded(schema, script);
      const Outcome b = batched(schema, script);
      ASSERT_EQ(b.out, e.out) << mgs << " seed " << seed << "\n" << script;
      ASSERT_EQ(b.failed, e.failed);
      ++scripts;
    }
  }
  EXPECT_GE(scripts, 125u);
}

TEST(ScriptClient, RandomScriptsOnRandomSchemasPrintTheSameBatchedAsLineByLine) {
  std::size_t compared = 0, failing_lines = 0;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    testing::SchemaGenerator schemas(seed);
    const std::string text = schemas.schema();
    auto compiled = schema::compile_schema(schema::SourceFile{"random.mgs", text});
    ASSERT_TRUE(compiled.is_ok()) << "seed " << seed << ": " << compiled.status().message() << "\n"
                                  << text;
    testing::ScriptGenerator gen(**compiled, seed);
    const std::string script = gen.script(200);
    const Outcome e = embedded(*compiled, script);
    const Outcome b = batched(*compiled, script);
    ASSERT_EQ(b.out, e.out) << "seed " << seed << "\n" << text << "\n" << script;
    failing_lines += e.failed;
    ++compared;
  }
  EXPECT_EQ(compared, 60u);
  EXPECT_GT(failing_lines, 60u);  // the error paths are compared too
}

}  // namespace
}  // namespace mgraph::session
