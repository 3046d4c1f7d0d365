// The `clock` command of an embedded session (docs/SCRIPTS.md): it moves the schema's
// clock, reading the time of day only through the runner's WallClock (`clock now`), so a
// test drives it with a ManualClock and never waits. A persistent session logs the line
// as the time it named, so reopening replays the timed fields to the same values whatever
// the clock says then.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/clock.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/persistent_session.hpp"
#include "mgraph/session/script_runner.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::session {
namespace {

constexpr const char* kSchemaName = "clock.mgs";
constexpr const char* kSchema = R"(entity S {
  x: int = 0
  slow: int = x @every(10s)
  late: int = x @at("2026-12-03T12:00:00Z")
})";

std::shared_ptr<const schema::Schema> compiled() {
  auto r = schema::compile_schema(schema::SourceFile{kSchemaName, kSchema});
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return std::move(r).value();
}

std::string run(ScriptRunner& runner, const std::vector<std::string_view>& lines) {
  std::string out;
  std::size_t n = 0;
  for (std::string_view line : lines) runner.run_line(line, ++n, &out);
  return out;
}

TEST(SessionClock, ClockLinesMoveTheSchemaClockAndUndoTakesThemBack) {
  ManualClock manual(parse_utc_ms("2026-12-03T11:59:55Z").value());
  ScriptRunner runner(compiled());
  runner.set_wall_clock(manual.clock());
  EXPECT_EQ(run(runner, {"create S s x=1", "commit", "clock now", "commit", "update s x=2",
                         "commit", "get s.slow", "clock +4s", "commit", "get s.slow",
                         "clock +1s", "commit", "get s.slow", "get s.late"}),
            "{\"get\":\"s.slow\",\"value\":1,\"version\":1,\"revision\":3}\n"
            "{\"get\":\"s.slow\",\"value\":1,\"version\":1,\"revision\":4}\n"
            "{\"get\":\"s.slow\",\"value\":2,\"version\":2,\"revision\":5}\n"
            "{\"get\":\"s.late\",\"value\":2,\"version\":2,\"revision\":5}\n");
  EXPECT_EQ(runner.store().clock().value(), parse_utc_ms("2026-12-03T12:00:00Z").value());
  // The manual clock moved on; the schema's clock moves only with a line.
  manual.advance(3'600'000);
  EXPECT_EQ(run(runner, {"undo", "get s.slow", "clock now", "commit", "get s.slow"}),
            "{\"get\":\"s.slow\",\"value\":1,\"version\":3,\"revision\":4}\n"
            "{\"get\":\"s.slow\",\"value\":2,\"version\":4,\"revision\":6}\n");
  EXPECT_EQ(runner.store().clock().value(), manual.now());
}

TEST(SessionClock, BadClockLinesSayWhyAndChangeNothing) {
  ScriptRunner runner(compiled());
  runner.set_wall_clock(ManualClock(5'000).clock());
  const std::string out =
      run(runner, {"clock 2026-12-03T10:00:00Z", "clock 2026-12-03", "clock now", "clock +5 s",
                   "clock +0s", "clock yesterday", "clock"});
  const std::vector<std::string> want = {
      "\"error\":\"the clock does not go back: it is 2026-12-03T10:00:00Z, not "
      "2026-12-03T00:00:00Z (undo takes a tick back)\",\"code\":\"invalid argument\",\"line\":2}",
      "\"line\":3}",
      "\"error\":\"clock takes now, +DURATION",
      "\"line\":4}",
      "\"error\":\"clock: '0s' is not a duration",
      "\"error\":\"clock: 'yesterday' is not a UTC time",
      "\"line\":7}"};
  for (const std::string& w : want) EXPECT_NE(out.find(w), std::string::npos) << w << "\n" << out;
  EXPECT_EQ(out.find("\"line\":1}"), std::string::npos) << out;
  auto plain = schema::compile_schema(schema::SourceFile{"p.mgs", "entity S { x: int = 0 }"});
  ScriptRunner untimed(std::move(plain).value());
  EXPECT_NE(run(untimed, {"clock +1s"}).find("\"error\":\"this schema has no clock"),
            std::string::npos);
}

TEST(SessionClock, APersistentSessionReplaysTheTimesItLogged) {
  testing::ScratchDir dir("mgraph-clock");
  ASSERT_FALSE(dir.path().empty());
  const std::string data = dir.sub("data");
  SessionOptions options;
  options.checkpoint_every = 0;
  const std::vector<std::string_view> lines = {
      "create S s x=1", "commit",        "clock now",      "update s x=5",
      "commit",         "update s x=6",  "commit",         "clock +9s",
      "commit",         "clock +1s",     "commit",         "update s x=7",
      "commit"};
  std::string first;
  {
    ManualClock manual(parse_utc_ms("2026-12-03T11:59:51Z").value());
    ScriptRunner runner(compiled());
    runner.set_wall_clock(manual.clock());
    auto session = PersistentSession::open(data, kSchemaName, kSchema, runner, options);
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    std::size_t n = 0;
    for (std::string_view line : lines) {
      bool ok = false;
      ASSERT_TRUE((*session)->run_line(line, ++n, &first, &ok).is_ok());
      EXPECT_TRUE(ok) << line << "\n" << first;
    }
  }
  // Reopened at another time of day: the log holds the times, not "now".
  ManualClock later(parse_utc_ms("2030-01-01").value());
  ScriptRunner runner(compiled());
  runner.set_wall_clock(later.clock());
  auto session = PersistentSession::open(data, kSchemaName, kSchema, runner, options);
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  EXPECT_EQ((*session)->replayed_epochs(), 6u);
  EXPECT_EQ(runner.store().clock().value(), parse_utc_ms("2026-12-03T12:00:01Z").value());
  EXPECT_EQ(runner.store().get(2, "slow").value(), Value(std::int64_t{6}));
  EXPECT_EQ(runner.store().get(2, "late").value(), Value(std::int64_t{6}));
  EXPECT_EQ(runner.store().get(2, "x").value(), Value(std::int64_t{7}));
}

}  // namespace
}  // namespace mgraph::session
