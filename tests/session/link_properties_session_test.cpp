// Relation properties in persistent sessions: `link ... qty=3` and `update-link` are logged
// as typed operations with their values, replayed on reopening, and kept in checkpoints
// (the link records are records of the image), so a session reopened from any mix of
// checkpoint and log prints what one in-memory run prints, undo past a checkpoint included.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/classifier.hpp"
#include "mgraph/session/persistent_session.hpp"
#include "mgraph/session/script_runner.hpp"
#include "support/scratch_dir.hpp"

namespace mgraph::session {
namespace {

constexpr const char* kName = "links.mgs";
constexpr const char* kSchema = R"(
entity Order {
  items: many Item via order { qty: int = 1  gift: bool = false }
  units: int = sum(items[*].link.qty)
  gifts: int = count(items[*] where link.gift)
}
entity Item { price: float = 0  ordered: int = order.link.qty }
entity Person {
  friends: many Person via many friends { weight: float = 1 }
  closeness: float = sum(friends[*].link.weight)
}
)";

using Lines = std::vector<std::string_view>;

Lines concat(const Lines& a, const Lines& b) {
  Lines out;
  out.reserve(a.size() + b.size());
  for (const std::string_view l : a) out.push_back(l);
  for (const std::string_view l : b) out.push_back(l);
  return out;
}

class LinkPropertiesSession : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = schema::compile_schema(schema::SourceFile{kName, kSchema});
    ASSERT_TRUE(compiled.is_ok()) << compiled.status().message();
    schema_ = std::move(compiled).value();
  }

  std::string run(const Lines& lines, std::uint64_t checkpoint_every) {
    ScriptRunner runner(schema_);
    SessionOptions options;
    options.checkpoint_every = checkpoint_every;
    auto session = PersistentSession::open(dir_.sub("data"), kName, kSchema, runner, options);
    EXPECT_TRUE(session.is_ok()) << session.status().message();
    if (!session.is_ok()) return {};
    std::string out;
    std::size_t n = 0;
    for (const std::string_view line : lines) {
      bool ok = false;
      EXPECT_TRUE((*session)->run_line(line, ++n, &out, &ok).is_ok()) << line;
    }
    return out;
  }

  std::string in_memory(const Lines& lines, const Lines& reads) const {
    ScriptRunner runner(schema_);
    std::string out;
    std::size_t n = 0;
    for (const std::string_view line : lines) {
      if (!is_session_command(command_word(line))) runner.run_line(line, ++n, &out);
    }
    out.clear();
    n = 0;
    for (const std::string_view line : reads) runner.run_line(line, ++n, &out);
    return out;
  }

  testing::ScratchDir dir_{"mgraph-link-props"};
  std::shared_ptr<const schema::Schema> schema_;
};

TEST_F(LinkPropertiesSession, ReopenedSessionsKeepLinksAndTheirProperties) {
  const Lines first = {"create Order o", "create Item a price=2", "create Item b price=3",
                       "link o.items a qty=4", "link o.items b gift=true", "commit",
                       "create Person p", "create Person q", "link p.friends q weight=2.5",
                       "commit", "checkpoint"};
  const Lines second = {"update-link a.order o qty=9", "commit",
                        "update-link q.friends p weight=4", "commit",
                        "unlink o.items b", "commit",
                        "undo",  // b is linked again, with its gift
                        "update-link o.items b qty=5", "commit"};
  const Lines third = {"undo", "undo", "undo", "undo"};  // back past the checkpoint
  const Lines reads = {"get o.units", "get o.gifts", "get a.ordered", "get b.ordered",
                       "get p.closeness", "get q.closeness"};
  // Every epoch checkpointed, and none: the same answers.
  for (const std::uint64_t every : {std::uint64_t{0}, std::uint64_t{1}}) {
    SCOPED_TRACE(every);
    std::filesystem::remove_all(dir_.sub("data"));
    run(first, every);
    run(second, every);
    const std::string after_second = run(reads, every);
    Lines all = concat(first, second);
    EXPECT_EQ(after_second, in_memory(all, reads));
    EXPECT_NE(after_second.find(R"({"get":"o.units","value":14)"), std::string::npos)
        << after_second;
    run(third, every);
    const std::string after_third = run(reads, every);
    all = concat(all, third);
    EXPECT_EQ(after_third, in_memory(all, reads));
    // At the first commit: a's first quantity, b's defaults; p and q not yet created.
    EXPECT_NE(after_third.find(R"({"get":"o.units","value":5,)"), std::string::npos)
        << after_third;
  }
}

}  // namespace
}  // namespace mgraph::session
