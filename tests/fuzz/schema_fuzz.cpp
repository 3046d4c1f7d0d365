// libFuzzer target for the schema language: lexer, parser, checker, formula compiler,
// and the document store the compiled schema drives.
//
// Input: a schema file (*.mgs), optionally followed by a line holding only "%%" and a
// script (docs/SCRIPTS.md). Every stage must answer bad input with an error value; the
// sanitizers (address, undefined, leak) and libFuzzer's timeout and memory limits turn
// anything else into a reported crash with a reproducer.
//
// Oracles checked here, beyond "no crash":
//   1. Every failure carries a message.
//   2. compile_schema fails exactly when the parser fails or the checker reports, and a
//      parse error is reported verbatim by compile_schema.
//
// Work per input is bounded: the input by kInputBytesMax, the store phase by
// kStoreFieldsMax (a small schema's formulas run, a huge one is only compiled), the
// script by kScriptLinesMax lines of at most kScriptLineBytesMax bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mgraph/graph/schema/parser.hpp"
#include "mgraph/graph/schema/schema.hpp"
#include "mgraph/session/script_runner.hpp"

namespace {

using namespace mgraph;
using namespace mgraph::schema;
using mgraph::session::ScriptRunner;

/// Larger inputs are refused (scripts/fuzz.sh also passes -max_len with this value).
constexpr std::size_t kInputBytesMax = std::size_t{64} << 10;
/// Fields over all entities of a schema whose records are created and committed;
/// bounds what one input can make the engine compute (each field may double a string).
constexpr std::size_t kStoreFieldsMax = 64;
/// Entities that get a record before the first commit.
constexpr std::size_t kSeedRecordsMax = 16;
/// Script lines run per input, and bytes per line.
constexpr std::size_t kScriptLinesMax = 64;
constexpr std::size_t kScriptLineBytesMax = 1024;
/// Committed revisions the store keeps: small, so undo is reachable but cheap.
constexpr std::size_t kHistoryLimit = 4;

constexpr std::string_view kScriptSeparator = "\n%%\n";

/// Stops the run: libFuzzer reports the input as a crash.
[[noreturn]] void violated(const char* what, const std::string& detail) {
  std::fprintf(stderr, "schema_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

void check_error(const Status& s, const char* stage) {
  if (s.message().empty()) violated("an error without a message from", stage);
}

/// Runs the script tail: at most kScriptLinesMax lines, each cut to kScriptLineBytesMax.
void run_script(ScriptRunner& runner, std::string_view script) {
  std::string out;
  std::size_t start = 0;
  for (std::size_t line_no = 1; line_no <= kScriptLinesMax && start <= script.size(); ++line_no) {
    std::size_t end = script.find('\n', start);
    if (end == std::string_view::npos) end = script.size();
    const std::string_view line = script.substr(start, std::min(end - start, kScriptLineBytesMax));
    runner.run_line(line, line_no, &out);
    start = end + 1;
    out.clear();  // what a line prints is not checked; dropping it keeps memory flat
  }
}

/// One record per entity (the first kSeedRecordsMax), so that the first commit runs
/// every formula of those entities on their defaults.
void seed_records(ScriptRunner& runner, const Schema& schema) {
  std::string out;
  for (std::size_t e = 0; e < schema.entities.size() && e < kSeedRecordsMax; ++e) {
    runner.run_line("create " + schema.entities[e].name, 0, &out);
  }
  runner.run_line("commit", 0, &out);
}

std::size_t field_count(const Schema& schema) {
  std::size_t n = 0;
  for (const EntityDef& e : schema.entities) n += e.fields.size();
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kInputBytesMax) return -1;  // -1: not added to the corpus
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t split = input.find(kScriptSeparator);
  const std::string_view schema_text = input.substr(0, split);
  const std::string_view script = split == std::string_view::npos
                                      ? std::string_view()
                                      : input.substr(split + kScriptSeparator.size());

  const SourceFile file{"fuzz.mgs", std::string(schema_text)};
  // The same bytes as one formula: exercises the expression grammar without `entity`.
  if (Result<std::unique_ptr<ast::Expr>> e = parse_expression(file); !e.is_ok()) {
    check_error(e.status(), "parse_expression");
  }
  const Result<ast::Schema> tree = parse_schema(file);
  if (!tree.is_ok()) check_error(tree.status(), "parse_schema");

  // Both aggregate paths: incremental state nodes, and scanning on every computation.
  const bool incremental = size % 2 == 0;
  Result<std::shared_ptr<const Schema>> compiled =
      compile_schema(file, CompileOptions{incremental});
  if (!compiled.is_ok()) {
    check_error(compiled.status(), "compile_schema");
    if (!tree.is_ok() && compiled.status().message() != tree.status().message()) {
      violated("compile_schema and parse_schema disagree on a syntax error",
               tree.status().message() + "\n---\n" + compiled.status().message());
    }
    return 0;
  }
  if (!tree.is_ok()) violated("compile_schema accepted what parse_schema rejects", "");

  const std::shared_ptr<const Schema>& schema = compiled.value();
  if (field_count(*schema) > kStoreFieldsMax) return 0;
  ScriptRunner runner(schema, StoreOptions{.history_limit = kHistoryLimit, .placement = {}});
  seed_records(runner, *schema);
  run_script(runner, script);
  return 0;
}
