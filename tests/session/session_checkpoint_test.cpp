// Checkpoints of persistent sessions stored in parts: with a small part size a modest
// session spans many parts, and a session reopened from them (the log compacted away, so
// only the checkpoint can rebuild it) prints exactly what the original prints, undo and
// redo across the checkpoint included.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>

#include "mgraph/session/script_runner.hpp"
#include "mgraph/session/persistent_session.hpp"
#include "mgraph/persistence/store.hpp"

namespace mgraph::session {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"(entity Order {
  items: many Item via order
  total: float = sum(items[*].price)
  note: string
}
entity Item { price: float = 0 }
)";

constexpr std::size_t kOrders = 60;
/// Pieces appended one by one (GCC 12 at -O3 warns wrongly about "x" + std::to_string(i)).
std::string cat(std::initializer_list<std::string_view> pieces) {
  std::string out;
  for (const std::string_view p : pieces) out.append(p);
  return out;
}

constexpr std::size_t kItemsPerOrder = 5;

class SessionCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("mgraph_parts_" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    auto compiled = schema::compile_schema(schema::SourceFile{"p.mgs", kSchema});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    schema_ = std::move(compiled).value();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static SessionOptions options() {
    SessionOptions o;
    o.checkpoint_every = 0;
    o.compact_log = true;
    o.checkpoint_part_bytes = persistence::checkpoint_part_bytes_min;
    return o;
  }

  /// Runs `line` in the session; what it printed.
  static std::string run(PersistentSession& session, const std::string& line) {
    std::string out;
    bool ok = false;
    const Status s = session.run_line(line, 1, &out, &ok);
    EXPECT_TRUE(s.is_ok()) << line << ": " << s.message();
    return out;
  }

  /// Every field of every record, as `get` prints them, through `run_line`.
  template <typename RunLine>
  static std::string everything(RunLine run_line) {
    std::string out;
    for (std::size_t o = 1; o <= kOrders; ++o) {
      const std::string n = std::to_string(o);
      out += run_line(cat({"get o", n, ".total"}));
      out += run_line(cat({"get o", n, ".note"}));
    }
    return out;
  }
  static std::string everything(PersistentSession& session) {
    return everything([&](const std::string& line) { return run(session, line); });
  }
  static std::string everything(ScriptRunner& runner) {
    return everything([&](const std::string& line) { return run(runner, line); });
  }
  /// What `line` prints in the runner alone (an error line when it fails).
  static std::string run(ScriptRunner& runner, const std::string& line) {
    std::string out;
    runner.run_line(line, 1, &out);
    return out;
  }

  std::string dir_;
  std::shared_ptr<const schema::Schema> schema_;
};

TEST_F(SessionCheckpoint, ACheckpointInManyPartsReopensIdentically) {
  ScriptRunner original(schema_);
  auto session = PersistentSession::open(dir_, "p.mgs", kSchema, original, options());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  for (std::size_t o = 1; o <= kOrders; ++o) {
    const std::string n = std::to_string(o);
    const std::string order = cat({"o", n});
    run(**session, cat({"create Order ", order, " note=\"order ", n, "\""}));
    for (std::size_t i = 0; i < kItemsPerOrder; ++i) {
      const std::string item = cat({order, "i", std::to_string(i)});
      run(**session, cat({"create Item ", item, " price=", std::to_string(o + i), ".5"}));
      run(**session, cat({"link ", order, ".items ", item}));
    }
    run(**session, "commit");
  }
  run(**session, "update o1i0 price=1000");
  run(**session, "commit");
  const std::string printed = run(**session, "checkpoint");
  const std::string before = everything(**session);
  ASSERT_EQ(printed.rfind("{\"checkpoint\":61,\"bytes\":", 0), 0u) << printed;
  const std::size_t bytes = std::stoul(printed.substr(printed.rfind(':') + 1));
  EXPECT_GT(bytes, 8 * persistence::checkpoint_part_bytes_min) << printed;
  session = Status(StatusCode::internal, "closed");  // releases the directory

  {
    auto store = persistence::Store::open(dir_);
    ASSERT_TRUE(store.is_ok()) << store.status().message();
    auto report = (*store)->verify();
    ASSERT_TRUE(report.is_ok()) << report.status().message();
    EXPECT_EQ(report->checkpoints, 1u);
    EXPECT_GT(report->checkpoint_parts, 8u);
    EXPECT_EQ(report->log_entries, 0u);  // compacted: only the checkpoint rebuilds it
  }

  ScriptRunner reopened(schema_);
  auto again = PersistentSession::open(dir_, "p.mgs", kSchema, reopened, options());
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ((*again)->loaded_checkpoint(), 61u);
  EXPECT_EQ((*again)->replayed_epochs(), 0u);
  EXPECT_EQ(everything(**again), before);
  // The undo history came back with it: both walk it alike.
  for (const char* step : {"undo", "undo", "redo"}) {
    run(original, step);
    run(**again, step);
    const std::string want = everything(original);
    EXPECT_NE(want, before) << step;
    EXPECT_EQ(everything(**again), want) << step;
  }
}

// A rejected creation used record id 2; its lines are logged only with the next epoch. A
// checkpoint taken before then held that id as used, and replaying the next epoch after it
// used it again: the record committed next reopened as #4, not #3.
TEST_F(SessionCheckpoint, NoCheckpointWhileLinesWaitForTheNextEpoch) {
  {
    ScriptRunner runner(schema_);
    auto session = PersistentSession::open(dir_, "p.mgs", kSchema, runner, options());
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    run(**session, "create Order a");
    run(**session, "commit");
    run(**session, "create Order b");
    run(**session, "reject");
    EXPECT_NE(run(**session, "checkpoint").find("cannot checkpoint with lines not yet logged"),
              std::string::npos);
    run(**session, "create Order c note=\"third\"");
    run(**session, "commit");
    EXPECT_NE(run(**session, "get #3.note").find("\"value\":\"third\""), std::string::npos);
  }
  ScriptRunner runner(schema_);
  auto session = PersistentSession::open(dir_, "p.mgs", kSchema, runner, options());
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  EXPECT_NE(run(**session, "get #3.note").find("\"value\":\"third\""), std::string::npos);
}

// A schema with global values: the global record is created with every Store, so a
// session reopened from a checkpoint alone (log compacted) and one replaying its log both
// find it where the original had it, with the values scripts set.
TEST_F(SessionCheckpoint, GlobalValuesReopenFromACheckpointAndFromTheLog) {
  constexpr const char* kGlobals = R"(global rate: float = 0
global revenue: float = sum(Order[*].gross)
entity Order { net: float = 0  gross: float = net * (1 + global.rate) }
)";
  auto compiled = schema::compile_schema(schema::SourceFile{"g.mgs", kGlobals});
  ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
  std::shared_ptr<const schema::Schema> globals = std::move(compiled).value();
  const char* reads[] = {"get global.revenue", "get global.rate", "get a.gross"};
  auto read_all = [&](PersistentSession& session) {
    std::string out;
    for (const char* r : reads) out += run(session, r);
    return out;
  };
  for (const bool checkpoint : {true, false}) {
    SCOPED_TRACE(checkpoint ? "from a checkpoint" : "from the log");
    fs::remove_all(dir_);
    std::string before;
    {
      ScriptRunner runner(globals);
      auto session = PersistentSession::open(dir_, "g.mgs", kGlobals, runner, options());
      ASSERT_TRUE(session.is_ok()) << session.status().message();
      run(**session, "create Order a net=10");
      run(**session, "create Order b net=30");
      run(**session, "commit");
      run(**session, "set global.rate = 0.5");
      run(**session, "commit");
      if (checkpoint) {
        EXPECT_EQ(run(**session, "checkpoint").rfind("{\"checkpoint\":2,", 0), 0u);
      }
      before = read_all(**session);
      EXPECT_NE(before.find("\"get\":\"global.revenue\",\"value\":60,"), std::string::npos)
          << before;
    }
    ScriptRunner runner(globals);
    auto session = PersistentSession::open(dir_, "g.mgs", kGlobals, runner, options());
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    EXPECT_EQ((*session)->loaded_checkpoint(), checkpoint ? 2u : 0u);
    EXPECT_EQ(read_all(**session), before);
    run(**session, "delete b");
    run(**session, "commit");
    EXPECT_NE(run(**session, "get global.revenue").find("\"value\":15,"), std::string::npos);
    run(**session, "undo");
    run(**session, "undo");
    EXPECT_NE(run(**session, "get global.rate").find("\"value\":0,"), std::string::npos);
  }
}

}  // namespace
}  // namespace mgraph::session
