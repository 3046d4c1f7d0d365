#pragma once
// A Graphviz digraph as mgraph writes it (`mgraphctl dot`, Store::dot), read back into its
// nodes and edges by label, so tests check a graph's structure rather than its bytes.
// Without std::regex: GCC 12 warns inside <regex> at -O1 with sanitizers (a false
// -Wmaybe-uninitialized), which the sanitizer build treats as an error.

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace mgraph::testing {

struct DotGraph {
  std::map<std::string, std::string> labels;  ///< node id ("n12") -> label
  std::set<std::pair<std::string, std::string>> edges;  ///< (from label, to label)
  std::set<std::string> dashed;                         ///< labels of dashed nodes
  std::set<std::string> boxes;                          ///< labels of box nodes
  bool well_formed = true;  ///< the header, the footer and every line as expected
};

/// Parses `  nA [label="...", shape=box, style=dashed];` and `  nA -> nB;` lines between
/// `digraph mgraph {` / `  rankdir=LR;` and `}`. Labels hold no '"' in tests.
inline DotGraph parse_dot(const std::string& text) {
  DotGraph d;
  std::istringstream in(text);
  std::string line;
  std::vector<std::pair<std::string, std::string>> raw;
  if (!std::getline(in, line) || line != "digraph mgraph {") d.well_formed = false;
  if (!std::getline(in, line) || line != "  rankdir=LR;") d.well_formed = false;
  bool closed = false;
  while (std::getline(in, line)) {
    if (line == "}") {
      closed = true;
      continue;
    }
    const std::string label_key = " [label=\"";
    const std::size_t at = line.find(label_key);
    if (closed || line.rfind("  n", 0) != 0 || line.back() != ';') {
      d.well_formed = false;
    } else if (at != std::string::npos) {
      const std::string id = line.substr(2, at - 2);
      const std::size_t end = line.find('"', at + label_key.size());
      if (end == std::string::npos) {
        d.well_formed = false;
        continue;
      }
      const std::string label = line.substr(at + label_key.size(), end - at - label_key.size());
      d.labels[id] = label;
      if (line.find(", shape=box", end) != std::string::npos) d.boxes.insert(label);
      if (line.find(", style=dashed", end) != std::string::npos) d.dashed.insert(label);
    } else if (const std::size_t arrow = line.find(" -> "); arrow != std::string::npos) {
      raw.emplace_back(line.substr(2, arrow - 2), line.substr(arrow + 4, line.size() - arrow - 5));
    } else {
      d.well_formed = false;
    }
  }
  if (!closed) d.well_formed = false;
  for (const auto& [from, to] : raw) {
    if (d.labels.count(from) == 0 || d.labels.count(to) == 0) d.well_formed = false;
    d.edges.emplace(d.labels[from], d.labels[to]);
  }
  return d;
}

}  // namespace mgraph::testing
