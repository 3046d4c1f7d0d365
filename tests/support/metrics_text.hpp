#pragma once
// Reading Prometheus's text exposition format (what a node's /metrics serves) in tests:
// each family's type, a series' value, and whether a name a query uses is exported —
// `F_bucket`, `F_sum` and `F_count` belong to the histogram (or summary) F.

#include <map>
#include <optional>
#include <sstream>
#include <string>

namespace mgraph::testing {

/// family name -> its type ("counter", "gauge", "histogram", ...), from the "# TYPE" lines.
inline std::map<std::string, std::string> metric_types(const std::string& text) {
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string name, type;
    if (words >> name >> type) types[name] = type;
  }
  return types;
}

/// The value of the series written exactly as `series` ("name" or `name{a="b",...}`, labels
/// in the order the exporter writes them, by name); none when it is not there.
inline std::optional<double> metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

/// Whether `name`, as a query names it, is exported with at least one sample: a family of
/// its own, or a histogram's or summary's `_bucket`, `_sum` or `_count`.
inline bool exports_metric(const std::string& text, const std::string& name) {
  const std::map<std::string, std::string> types = metric_types(text);
  bool typed = types.count(name) != 0;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (typed || name.size() <= s.size() || name.compare(name.size() - s.size(), s.size(), s) != 0)
      continue;
    const auto family = types.find(name.substr(0, name.size() - s.size()));
    typed = family != types.end() &&
            (family->second == "histogram" || (family->second == "summary" && s != "_bucket"));
  }
  if (!typed) return false;
  // A sample line: the name, then its labels or a space.
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
        (line[name.size()] == '{' || line[name.size()] == ' '))
      return true;
  }
  return false;
}

}  // namespace mgraph::testing
