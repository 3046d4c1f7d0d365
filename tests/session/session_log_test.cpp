// The input log of persistent sessions: an epoch is stored as the typed operations its
// lines meant (an encoded AppliedBatch after a two-line header, format version 2), with
// their results and aliases; a reopened session resolves aliases exactly as the original,
// from the checkpoint and the epochs after it; replay refuses an op whose outcome differs;
// and a directory written with version 1 (script lines) opens and goes on in version 2.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mgraph/codec/session_codec.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/persistence/store.hpp"
#include "mgraph/persistence/write_batch.hpp"
#include "mgraph/session/classifier.hpp"
#include "mgraph/session/persistent_session.hpp"
#include "mgraph/session/script_runner.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::session {
namespace {

constexpr const char* kSchemaName = "log.mgs";
constexpr const char* kSchema = R"(entity Order {
  items: many Item via order
  total: float = sum(items[*].price)
  note: string
}
entity Item { price: float = 0 }
)";

using Lines = std::vector<std::string_view>;

RecordRef ref(RecordId id, std::string text) { return RecordRef{id, {}, std::move(text)}; }

class SessionLog : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto compiled = schema::compile_schema(schema::SourceFile{kSchemaName, kSchema});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    schema_ = std::move(compiled).value();
  }

  std::string data() const { return dir_.sub("data"); }

  static SessionOptions no_checkpoints() {
    SessionOptions o;
    o.checkpoint_every = 0;
    return o;
  }

  /// Opens the data directory with a fresh runner, runs `lines` and returns what they
  /// print; *replayed gets the number of epochs opening replayed.
  std::string run(const Lines& lines, SessionOptions options,
                  std::uint64_t* replayed = nullptr) {
    ScriptRunner runner(schema_);
    auto session = PersistentSession::open(data(), kSchemaName, kSchema, runner, options);
    EXPECT_TRUE(session.is_ok()) << session.status().message();
    if (!session.is_ok()) return {};
    if (replayed != nullptr) *replayed = (*session)->replayed_epochs();
    std::string out;
    std::size_t n = 0;
    for (const std::string_view line : lines) {
      bool ok = false;
      const Status s = (*session)->run_line(line, ++n, &out, &ok);
      EXPECT_TRUE(s.is_ok()) << line << ": " << s.message();
    }
    return out;
  }

  /// What `reads` print in one in-memory runner after `lines` (the session commands
  /// among them skipped); the runner's aliases in *aliases.
  std::string in_memory(const Lines& lines, const Lines& reads,
                        std::vector<std::pair<std::string, RecordId>>* aliases = nullptr) const {
    ScriptRunner runner(schema_);
    std::string out;
    std::size_t n = 0;
    for (const std::string_view line : lines) {
      if (!is_session_command(command_word(line))) runner.run_line(line, ++n, &out);
    }
    out.clear();
    n = 0;
    for (const std::string_view line : reads) runner.run_line(line, ++n, &out);
    if (aliases != nullptr) {
      Result<schema::RunnerImage> image = runner.export_image();
      EXPECT_TRUE(image.is_ok());
      if (image.is_ok()) *aliases = image->aliases;
    }
    return out;
  }

  /// The log entry of `epoch`, read with the session closed.
  std::string log_entry(std::uint64_t epoch) const {
    auto store = persistence::Store::open(data(), persistence::StoreOptions{});
    EXPECT_TRUE(store.is_ok()) << store.status().message();
    if (!store.is_ok()) return {};
    auto entry = (*store)->log_entry(epoch);
    EXPECT_TRUE(entry.is_ok() && entry->has_value()) << "no log entry at epoch " << epoch;
    return entry.is_ok() && entry->has_value() ? (**entry).batch : std::string();
  }

  /// Appends log entries as they are given (a directory written by another build).
  void write_log(const std::vector<std::string>& entries) const {
    persistence::StoreOptions options;
    options.create_if_missing = true;
    auto store = persistence::Store::open(data(), options);
    ASSERT_TRUE(store.is_ok()) << store.status().message();
    persistence::WriteBatch wb;
    for (std::size_t i = 0; i < entries.size(); ++i) wb.append_log(i + 1, i + 1, entries[i]);
    ASSERT_TRUE((*store)->write(wb).is_ok());
  }

  static std::string header(std::uint32_t version) {
    return eval_header(kEvalLogMagic, version, schema_content_hash(kSchema), kSchemaName);
  }

  testing::ScratchDir dir_{"mgraph-session-log"};
  std::shared_ptr<const schema::Schema> schema_;
};

TEST_F(SessionLog, AnEpochDecodesToTheTypedOperationsOfItsLines) {
  run({R"(create Order o1 note="a")", "create Item i1 price=40", "get o1.total",
       "link o1.items i1", R"(update o1 note="b")", "update nobody price=1", R"(set #2.price = 5)",
       "unlink o1.items i1", "commit"},
      no_checkpoints());
  const std::string entry = log_entry(1);
  const std::string head = header(kEvalLogVersion);
  ASSERT_EQ(kEvalLogVersion, 2u);
  ASSERT_EQ(entry.substr(0, head.size()), head);
  Result<AppliedBatch> logged =
      codec::decode_applied_batch(std::string_view(entry).substr(head.size()));
  ASSERT_TRUE(logged.is_ok()) << logged.status().message();

  // The lines as typed operations: records named by id (o1 is #1, i1 #2), also those
  // created earlier in the epoch; `get` changes nothing and is not logged; the line naming
  // an unknown record is kept as the invalid op it is, with the error it answered.
  Batch want(8);
  want[0].kind = OpKind::create;
  want[0].entity = "Order";
  want[0].values = {{"note", Value("a")}};
  want[1].kind = OpKind::create;
  want[1].entity = "Item";
  want[1].values = {{"price", Value(40)}};
  want[2].kind = OpKind::link;
  want[2].refs = {ref(1, "o1"), ref(2, "i1")};
  want[2].name = "items";
  want[3].kind = OpKind::update;
  want[3].refs = {ref(1, "o1")};
  want[3].values = {{"note", Value("b")}};
  want[4].kind = OpKind::invalid;  // compared below
  want[5].kind = OpKind::set;
  want[5].refs = {ref(2, "#2")};
  want[5].name = "price";
  want[5].value = Value(5);
  want[6].kind = OpKind::unlink;
  want[6].refs = {ref(1, "o1"), ref(2, "i1")};
  want[6].name = "items";
  want[7].kind = OpKind::commit;
  ASSERT_EQ(logged->ops.size(), want.size());
  EXPECT_EQ(logged->ops[4].kind, OpKind::invalid);
  EXPECT_EQ(logged->ops[4].error.code(), StatusCode::not_found);
  EXPECT_NE(logged->ops[4].error.message().find("nobody"), std::string::npos);
  want[4] = logged->ops[4];
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(logged->ops[i], want[i]) << "op " << i;

  // Their outcomes as they ran, and the aliases beside them.
  ASSERT_EQ(logged->results.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(logged->results[i].status.is_ok(), i != 4) << "op " << i;
  EXPECT_EQ(logged->results[0].created, 1u);
  EXPECT_EQ(logged->results[1].created, 2u);
  EXPECT_EQ(logged->results[7].revision, 1u);
  EXPECT_EQ(logged->aliases, (std::vector<std::string>{"o1", "i1", "", "", "", "", "", ""}));
}

TEST_F(SessionLog, ReopenedSessionsResolveAliasesAsTheOriginal) {
  // Aliases given before a checkpoint and after it: given again to a new record, given in
  // a rejected transaction (the alias stays, its record is gone), not given by a failed
  // create, given in an epoch that undo then walks back.
  const Lines first = {R"(create Order o1 note="first")", "create Item i1 price=10",
                      "link o1.items i1", "commit", "checkpoint"};
  const Lines second = {R"(create Order o2 note="rejected")", "reject",
                       R"(create Order o1 note="again")", "create Order bad nosuch=1",
                       "create Item i2 price=5", "link o1.items i2", "commit",
                       R"(create Order o3 note="undone")", "commit", "undo"};
  const Lines reads = {"get o1.note", "get o1.total", "get #1.note", "get #1.total",
                      "get o2.note", "get bad.note",  "get i1.price", "get i2.price",
                      "get o3.note", "get #5.note"};
  SessionOptions options = no_checkpoints();
  run(first, options);
  run(second, options);

  // Reopened: the checkpoint (after `first`) is loaded, then the 3 epochs after it.
  std::uint64_t replayed = 0;
  const std::string reopened = run(reads, options, &replayed);
  EXPECT_EQ(replayed, 3u);
  Lines all = first;
  all.insert(all.end(), second.begin(), second.end());
  std::vector<std::pair<std::string, RecordId>> aliases;
  const std::string out = in_memory(all, reads, &aliases);
  EXPECT_EQ(reopened, out);
  EXPECT_NE(out.find(R"("value":"again")"), std::string::npos) << out;

  // The same aliases, naming the same records.
  ScriptRunner runner(schema_);
  auto session = PersistentSession::open(data(), kSchemaName, kSchema, runner, options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  Result<schema::RunnerImage> image = runner.export_image();
  ASSERT_TRUE(image.is_ok());
  EXPECT_EQ(image->aliases, aliases);
  EXPECT_EQ(aliases.size(), 5u);  // o1 i1 o2 i2 o3; not bad
}

TEST_F(SessionLog, ReplayRefusesAnOperationWithAnotherOutcome) {
  // A create logged as having made record #7, which replay makes as #1.
  AppliedBatch epoch;
  epoch.ops.resize(2);
  epoch.ops[0].kind = OpKind::create;
  epoch.ops[0].entity = "Order";
  epoch.ops[1].kind = OpKind::commit;
  epoch.results.resize(2);
  epoch.results[0].created = 7;
  epoch.aliases = {"o1", ""};
  Result<std::string> bytes = codec::encode_applied_batch(epoch);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  write_log({header(2) + *bytes});
  {
    ScriptRunner runner(schema_);
    auto session = PersistentSession::open(data(), kSchemaName, kSchema, runner);
    ASSERT_FALSE(session.is_ok());
    EXPECT_NE(session.status().message().find("epoch 1: replays differently: operation 1 of 2 "
                                              "('create Order') created record #7 when logged "
                                              "but now #1"),
              std::string::npos)
        << session.status().message();
  }
  // A create logged as failed, which succeeds on replay (in a new directory).
  std::filesystem::remove_all(data());
  epoch.results[0].created = 0;
  epoch.results[0].status = Status(StatusCode::invalid_argument, "was refused");
  bytes = codec::encode_applied_batch(epoch);
  ASSERT_TRUE(bytes.is_ok());
  write_log({header(2) + *bytes});
  ScriptRunner runner(schema_);
  auto session = PersistentSession::open(data(), kSchemaName, kSchema, runner);
  ASSERT_FALSE(session.is_ok());
  EXPECT_NE(session.status().message().find("failed when logged (was refused) but now succeeds"),
            std::string::npos)
      << session.status().message();
}

TEST_F(SessionLog, UndecodableEntryIsCorruption) {
  write_log({header(2) + "not an applied batch"});
  ScriptRunner runner(schema_);
  auto session = PersistentSession::open(data(), kSchemaName, kSchema, runner);
  ASSERT_FALSE(session.is_ok());
  EXPECT_EQ(session.status().code(), StatusCode::corruption);
  EXPECT_NE(session.status().message().find(": epoch 1: "), std::string::npos)
      << session.status().message();
}

TEST_F(SessionLog, OpensAVersion1LogAndContinuesItInVersion2) {
  // Two epochs as a build that logged script lines wrote them.
  write_log({header(1) + "+ create Order o1 note=\"a\"\n+ create Item i1 price=40\n"
                         "+ link o1.items i1\n+ commit\n",
             header(1) + "! update nobody note=\"x\"\n+ update o1 note=\"b\"\n+ commit\n"});
  const Lines more = {R"(update o1 note="c")", "create Item i2 price=5", "link o1.items i2",
                     "commit"};
  std::uint64_t replayed = 0;
  run(more, no_checkpoints(), &replayed);
  EXPECT_EQ(replayed, 2u);

  // The old epochs stay as they were; the new one holds typed operations.
  EXPECT_EQ(log_entry(1).substr(0, header(1).size()), header(1));
  const std::string third = log_entry(3);
  ASSERT_EQ(third.substr(0, header(2).size()), header(2));
  Result<AppliedBatch> logged =
      codec::decode_applied_batch(std::string_view(third).substr(header(2).size()));
  ASSERT_TRUE(logged.is_ok()) << logged.status().message();
  ASSERT_EQ(logged->ops.size(), 4u);
  EXPECT_EQ(logged->ops[2].refs, (std::vector<RecordRef>{ref(1, "o1"), ref(3, "i2")}));
  EXPECT_EQ(logged->aliases[1], "i2");

  // Reopened from both formats: the state and the aliases of every line.
  const Lines reads = {"get o1.note", "get o1.total", "get i1.price", "get i2.price"};
  const std::string reopened = run(reads, no_checkpoints(), &replayed);
  EXPECT_EQ(replayed, 3u);
  EXPECT_EQ(reopened, in_memory({R"(create Order o1 note="a")", "create Item i1 price=40",
                                  "link o1.items i1", "commit", R"(update nobody note="x")",
                                  R"(update o1 note="b")", "commit", R"(update o1 note="c")",
                                  "create Item i2 price=5", "link o1.items i2", "commit"},
                                 reads));
  EXPECT_NE(reopened.find(R"("value":45)"), std::string::npos) << reopened;
}

}  // namespace
}  // namespace mgraph::session
