// ChronoGraph 2.0.3's cycle-resolver tests, ported as data (chronograph_cycles/, format in
// its README.md), run against mgraph's resolver: the pure function, the memo, and the
// engine (a group in a Graph, proposed and kept through its API).

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "mgraph/graph/cycle_resolution.hpp"
#include "mgraph/graph/graph.hpp"

namespace mgraph {
namespace {

namespace fs = std::filesystem;

const fs::path kDataDir = fs::path(MGRAPH_CHRONOGRAPH_CYCLES_DIR);

/// One line of a case, kept with its place for the failure message.
struct Step {
  std::string where;  ///< file:line
  std::string verb;   ///< previous, proposed, keep, input, resolve, expect, built
  std::vector<std::string> words;
};

struct CaseData {
  std::string title;
  std::vector<Step> steps;
};

struct FileData {
  std::vector<std::string> variables;
  std::vector<std::string> formula_names;
  CycleGroupDef def;
  std::vector<CaseData> cases;
};

std::vector<std::string> words_of(std::istringstream& in) {
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::size_t index_of(const std::vector<std::string>& names, const std::string& name,
                     const std::string& where) {
  const auto it = std::find(names.begin(), names.end(), name);
  if (it == names.end()) {
    ADD_FAILURE() << where << ": unknown name '" << name << "'";
    return names.size();
  }
  return static_cast<std::size_t>(it - names.begin());
}

/// Each formula returns a tag, 100 + its index, so a member's value tells who computed it.
GroupFormula tagged_formula(std::size_t index) {
  GroupFormula f;
  f.compute = [index](std::span<const Value>) { return Value(100.0 + static_cast<double>(index)); };
  return f;
}

/// Parses a data file; a malformed line is a test failure naming file:line.
FileData parse(const fs::path& path) {
  FileData out;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::string where = path.filename().string() + ":" + std::to_string(number);
    if (line.empty() || line[0] == '#') continue;
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    if (verb == "case") {
      std::string title;
      std::getline(words, title);
      out.cases.push_back(CaseData{title.substr(title.find_first_not_of(' ')), {}});
    } else if (verb == "variables") {
      out.variables = words_of(words);
      out.def.members = out.variables;
    } else if (verb == "formula") {
      std::vector<std::string> w = words_of(words);
      if (w.size() < 3 || w[2] != "<-") {
        ADD_FAILURE() << where << ": expected 'formula NAME OUTPUT <- INPUT...', got '" << line << "'";
        continue;
      }
      GroupFormula f = tagged_formula(out.def.formulas.size());
      f.name = w[0];
      f.output = index_of(out.variables, w[1], where);
      for (std::size_t i = 3; i < w.size(); ++i) f.inputs.push_back(index_of(out.variables, w[i], where));
      out.formula_names.push_back(w[0]);
      out.def.formulas.push_back(std::move(f));
    } else if (verb == "default") {
      for (const std::string& name : words_of(words)) {
        out.def.default_formulas.push_back(index_of(out.formula_names, name, where));
      }
    } else if (verb == "previous" || verb == "proposed" || verb == "keep" || verb == "input" ||
               verb == "resolve" || verb == "expect" || verb == "built") {
      if (out.cases.empty()) {
        ADD_FAILURE() << where << ": '" << verb << "' before the first case";
        continue;
      }
      out.cases.back().steps.push_back(Step{where, verb, words_of(words)});
    } else {
      ADD_FAILURE() << where << ": unknown directive '" << verb << "'";
    }
  }
  return out;
}

/// The expected formula (or -1) per member of an `expect` step.
std::vector<int> expected_of(const FileData& file, const Step& step) {
  std::vector<int> want(file.variables.size(), -2);  // -2: not stated
  for (const std::string& w : step.words) {
    const std::size_t eq = w.find('=');
    if (eq == std::string::npos) {
      ADD_FAILURE() << step.where << ": expected MEMBER=FORMULA, got '" << w << "'";
      continue;
    }
    const std::size_t m = index_of(file.variables, w.substr(0, eq), step.where);
    const std::string formula = w.substr(eq + 1);
    if (m >= want.size()) continue;
    want[m] = formula == "proposed" ? -1
                                    : static_cast<int>(index_of(file.formula_names, formula, step.where));
  }
  for (std::size_t m = 0; m < want.size(); ++m) {
    EXPECT_NE(want[m], -2) << step.where << ": no expectation for " << file.variables[m];
  }
  return want;
}

std::string show(const FileData& file, const std::vector<int>& resolution) {
  std::string out;
  for (std::size_t m = 0; m < resolution.size(); ++m) {
    out += " " + file.variables[m] + "=";
    out += resolution[m] < 0 ? std::string("proposed")
                             : file.formula_names[static_cast<std::size_t>(resolution[m])];
  }
  return out;
}

/// Resolves `input` in a fresh Graph: members start with a value (1.0) when previous,
/// null otherwise; proposed ones get 50 + their index, kept ones keep_if_possible. Checks
/// every member's value against the resolution and returns the dispatcher's.
std::vector<int> resolve_in_engine(const FileData& file, const std::vector<std::uint8_t>& input,
                                   const std::string& where) {
  Graph g;
  CycleGroupDef def = file.def;
  def.initial.clear();
  for (std::uint8_t bits : input) def.initial.push_back(bits & kHasPrevious ? Value(1.0) : Value());
  const CycleGroup group = g.add_cycle_group(def).value();
  for (std::size_t m = 0; m < input.size(); ++m) {
    if (input[m] & kHasProposed) {
      EXPECT_TRUE(g.propose(group.members[m], Value(50.0 + static_cast<double>(m))).is_ok());
    }
    if (input[m] & kKeepIfPossible) {
      EXPECT_TRUE(g.keep_if_possible(group.members[m]).is_ok());
    }
  }
  EXPECT_TRUE(g.commit().is_ok()) << where;
  const std::int64_t code = g.read(group.dispatcher).as_int();
  std::vector<int> out;
  for (std::size_t m = 0; m < input.size(); ++m) {
    const int formula = packed_formula(code, m);
    out.push_back(formula);
    const Value want = formula >= 0                     ? Value(100.0 + formula)
                       : (input[m] & kHasProposed) != 0 ? Value(50.0 + static_cast<double>(m))
                       : (input[m] & kHasPrevious) != 0 ? Value(1.0)
                                                        : Value();
    EXPECT_EQ(g.read(group.members[m]), want) << where << ": value of " << file.variables[m];
  }
  return out;
}

/// Runs every case of one file against one memo shared by the file, as ChronoGraph's
/// tests share one CycleResolution. Returns the number of expectations checked.
std::size_t run_file(const std::string& name) {
  const FileData file = parse(kDataDir / name);
  EXPECT_FALSE(file.cases.empty()) << name << ": no cases";
  CycleResolutionMemo memo;
  std::size_t checked = 0;
  for (const CaseData& c : file.cases) {
    std::vector<std::uint8_t> input(file.variables.size(), kNoInput);
    std::size_t built_before = memo.built();
    for (const Step& step : c.steps) {
      SCOPED_TRACE(step.where + ": " + c.title);
      const auto flag = [&](std::uint8_t bit) {
        for (const std::string& w : step.words) {
          const std::size_t m = index_of(file.variables, w, step.where);
          if (m < input.size()) input[m] |= bit;
        }
      };
      if (step.verb == "previous") {
        flag(kHasPrevious);
      } else if (step.verb == "proposed") {
        flag(kHasProposed);
      } else if (step.verb == "keep") {
        flag(kKeepIfPossible);
      } else if (step.verb == "input") {
        std::fill(input.begin(), input.end(), kNoInput);
      } else if (step.verb == "built") {
        EXPECT_EQ(std::to_string(memo.built() - built_before), step.words.at(0));
        built_before = memo.built();
      } else {  // resolve, expect
        const std::int64_t code = memo.resolve(file.def, input);
        if (step.verb == "resolve") continue;
        std::vector<int> from_memo;
        for (std::size_t m = 0; m < input.size(); ++m) from_memo.push_back(packed_formula(code, m));
        const std::vector<int> want = expected_of(file, step);
        EXPECT_EQ(from_memo, want) << "memo:" << show(file, from_memo) << "\nwant:" << show(file, want);
        EXPECT_EQ(resolve_cycle(file.def, input), want) << "resolve_cycle";
        const std::vector<int> engine = resolve_in_engine(file, input, step.where);
        EXPECT_EQ(engine, want) << "engine:" << show(file, engine);
        ++checked;
      }
    }
  }
  return checked;
}

// One test per ChronoGraph file; the count of expectations guards against a file that
// silently lost its cases.
TEST(ChronoGraphCycles, Memoizing) { EXPECT_EQ(run_file("010_memoizing.txt"), 1u); }
TEST(ChronoGraphCycles, StartEndDuration) { EXPECT_EQ(run_file("020_sed.txt"), 18u); }
TEST(ChronoGraphCycles, FixedDuration) {
  EXPECT_EQ(run_file("030_sedwu_fixed_duration.txt"), 21u);
}
TEST(ChronoGraphCycles, FixedDurationEffortDriven) {
  EXPECT_EQ(run_file("040_sedwu_fixed_duration_effort_driven.txt"), 2u);
}
TEST(ChronoGraphCycles, FixedEffort) { EXPECT_EQ(run_file("050_sedwu_fixed_effort.txt"), 24u); }
TEST(ChronoGraphCycles, FixedUnits) { EXPECT_EQ(run_file("060_sedwu_fixed_units.txt"), 1u); }

TEST(ChronoGraphCycles, EveryDataFileRuns) {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(kDataDir)) {
    if (e.path().extension() == ".txt") files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  EXPECT_EQ(files, (std::vector<std::string>{
                       "010_memoizing.txt", "020_sed.txt", "030_sedwu_fixed_duration.txt",
                       "040_sedwu_fixed_duration_effort_driven.txt", "050_sedwu_fixed_effort.txt",
                       "060_sedwu_fixed_units.txt"}));
}

}  // namespace
}  // namespace mgraph
