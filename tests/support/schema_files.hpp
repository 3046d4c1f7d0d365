#pragma once
// Files of the tests: a whole file's bytes, a schema file compiled (a failure is a test
// failure, and null), and what compiling a schema's text gives (its error).

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

/// `text` compiled as the file `name` (a failure is a test failure, and null).
inline std::shared_ptr<const schema::Schema> compile_text(const std::string& name, const std::string& text) {
  auto compiled = schema::compile_schema(schema::SourceFile{name, text});
  EXPECT_TRUE(compiled.is_ok()) << name << ": " << compiled.status().message();
  return compiled.is_ok() ? std::move(compiled).value() : nullptr;
}

/// What compiling `text` as the file t.mgs gives: the error message, or "(compiled)".
inline std::string compile_outcome(const std::string& text) {
  auto r = schema::compile_schema(schema::SourceFile{"t.mgs", text});
  return r.is_ok() ? std::string("(compiled)") : r.status().message();
}

/// The error compiling `text` as the file t.mgs gives; a test failure, and "", when it
/// compiles.
inline std::string compile_error(const std::string& text) {
  auto r = schema::compile_schema(schema::SourceFile{"t.mgs", text});
  EXPECT_FALSE(r.is_ok()) << "expected an error for:\n" << text;
  return r.is_ok() ? std::string() : r.status().message();
}

}  // namespace mgraph::testing
