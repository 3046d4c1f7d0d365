#include "mgraph/graph/schema/diagnostic.hpp"

namespace mgraph::schema {

std::string_view SourceFile::line_text(std::uint32_t line) const {
  if (line == 0) return {};
  std::size_t start = 0;
  // Bounded by the number of newlines in the text.
  for (std::uint32_t l = 1; l < line; ++l) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string::npos) return {};
    start = nl + 1;
  }
  std::size_t end = text.find('\n', start);
  if (end == std::string::npos) end = text.size();
  std::string_view v(text.data() + start, end - start);
  if (!v.empty() && v.back() == '\r') v.remove_suffix(1);
  return v;
}

std::string format_diagnostic(const SourceFile& file, const Diagnostic& d) {
  std::string out = file.name + ":" + std::to_string(d.loc.line) + ":" + std::to_string(d.loc.col) +
                    ": error: " + d.message;
  const std::string_view line = file.line_text(d.loc.line);
  if (d.loc.line == 0) return out;
  out += "\n  ";
  out += line;
  out += "\n  ";
  // Tabs stay tabs so that the caret lines up under the same column in a terminal.
  for (std::uint32_t c = 1; c < d.loc.col && c - 1 < line.size(); ++c) {
    out.push_back(line[c - 1] == '\t' ? '\t' : ' ');
  }
  out += "^";
  return out;
}

std::string format_diagnostics(const SourceFile& file, const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const Diagnostic& d : ds) {
    if (!out.empty()) out += "\n";
    out += format_diagnostic(file, d);
  }
  return out;
}

}  // namespace mgraph::schema
