#pragma once
// Running a script through a ScriptClient in a test, and finding the examples that have a
// script: shared by the tests that compare one way of running scripts with another.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <memory>
#include <string>
#include <vector>

#include "mgraph/session/client.hpp"

namespace mgraph::testing {

/// What a script printed, and how many of its lines failed.
struct Outcome {
  std::string out;
  std::size_t failed = 0;
};

inline Outcome run_script(session::ScriptClient& client, const std::string& script) {
  Outcome r;
  std::istringstream in(script);
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) r.failed += client.run_line(line, n, &r.out);
  r.failed += client.finish(&r.out);
  EXPECT_TRUE(client.failure().is_ok()) << client.failure().message();
  return r;
}

/// What the script prints run line by line on one Store, as `mgraph eval` runs it.
inline Outcome run_embedded(std::shared_ptr<const schema::Schema> schema,
                            const std::string& script) {
  schema::Store store(std::move(schema));
  session::StoreBackend backend(store);
  session::ScriptClient client(backend, session::ClientOptions{});
  return run_script(client, script);
}

/// The `*.mgs` files of `dir` that have a `.mgscript` beside them, sorted.
inline std::vector<std::filesystem::path> scripted_examples(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".mgs" &&
        std::filesystem::exists(std::filesystem::path(e.path()).replace_extension(".mgscript")))
      out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mgraph::testing
