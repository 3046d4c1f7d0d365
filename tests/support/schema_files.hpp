#pragma once
// Files of the tests: a whole file's bytes, and a schema file compiled (a failure is a
// test failure, and null).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "mgraph/graph/schema/schema.hpp"

namespace mgraph::testing {

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline std::shared_ptr<const schema::Schema> compile_file(const std::filesystem::path& p) {
  auto compiled = schema::compile_schema(schema::SourceFile{p.string(), read_file(p)});
  EXPECT_TRUE(compiled.is_ok()) << p << ": " << compiled.status().message();
  return compiled.is_ok() ? std::move(compiled).value() : nullptr;
}

}  // namespace mgraph::testing
