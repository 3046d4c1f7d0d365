// A persistent embedded session from C++: the library form of `mgraph eval --data DIR`.
// Run 1 creates an order and commits; run 2 (a new process in real use, a new session
// here) reopens the same directory from its checkpoint and log and continues. Exits
// non-zero if the reopened session does not see what the first one committed.
//   Usage: mgraph_persistent_demo DIR   (DIR is created; an existing one is reopened)

#include <cstdio>
#include <memory>
#include <string>

#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/script_runner.hpp"
#include "mgraph/session/persistent_session.hpp"

namespace {

constexpr const char* kSchema = R"(
entity Order {
  items: many Item via order
  total: float = sum(items[*].price)
}
entity Item { price: float = 0 }
)";

/// Opens DIR with a fresh runner and runs `lines`; prints what they print. Returns false
/// (after printing why) when the directory cannot be opened or an epoch cannot be logged.
bool run_session(const std::string& dir, std::initializer_list<const char*> lines,
                 std::string* printed) {
  auto schema = mgraph::schema::compile_schema(mgraph::schema::SourceFile{"demo.mgs", kSchema});
  if (!schema.is_ok()) {
    std::fprintf(stderr, "%s\n", schema.status().message().c_str());
    return false;
  }
  mgraph::session::ScriptRunner runner(*schema);
  mgraph::session::SessionOptions options;
  options.checkpoint_every = 2;  // small, to show reopening from a checkpoint
  auto session =
      mgraph::session::PersistentSession::open(dir, "demo.mgs", kSchema, runner, options);
  if (!session.is_ok()) {
    std::fprintf(stderr, "%s\n", session.status().message().c_str());
    return false;
  }
  const auto checkpoint = static_cast<unsigned long long>((*session)->loaded_checkpoint());
  const auto replayed = static_cast<unsigned long long>((*session)->replayed_epochs());
  if (checkpoint == 0) {
    std::printf("opened %s: no checkpoint, %llu epochs replayed from the log\n", dir.c_str(),
                replayed);
  } else {
    std::printf("opened %s: checkpoint at epoch %llu loaded, %llu epochs replayed after it\n",
                dir.c_str(), checkpoint, replayed);
  }
  std::size_t n = 0;
  for (const char* line : lines) {
    bool ok = false;
    std::string out;
    if (mgraph::Status s = (*session)->run_line(line, ++n, &out, &ok); !s.is_ok()) {
      std::fprintf(stderr, "%s\n", s.message().c_str());
      return false;
    }
    std::printf("  %-32s %s", line, out.empty() ? "\n" : out.c_str());
    *printed += out;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::string first, second;
  if (!run_session(dir, {"create Order o", "create Item a price=30", "link o.items a", "commit",
                         "create Item b price=12", "link o.items b", "commit", "get o.total"},
                   &first)) {
    return 1;
  }
  if (!run_session(dir, {"get o.total", "undo", "get o.total", "redo", "get o.total"}, &second))
    return 1;
  const bool ok = first.find("\"value\":42") != std::string::npos &&
                  second.find("\"value\":30") != std::string::npos;
  std::printf(ok ? "reopened session continued where the first stopped\n"
                 : "FAILED: the reopened session lost committed state\n");
  return ok ? 0 : 1;
}
