// The resolver's rules that ChronoGraph's own test cases (chronograph_cycles_test.cpp) do
// not reach, its encoding at the bounds, and the memo's bound.

#include <gtest/gtest.h>

#include <vector>

#include "mgraph/graph/cycle_resolution.hpp"

namespace mgraph {
namespace {

GroupFormula rule(std::size_t output, std::vector<std::size_t> inputs) {
  GroupFormula f;
  f.output = output;
  f.inputs = std::move(inputs);
  f.compute = [](std::span<const Value>) { return Value(); };
  return f;
}

TEST(CycleResolution, AValueIsNotReplacedByOneDerivedFromAMemberWithoutValue) {
  // A -> B -> C. A proposed, B without value, C with one: B is computed from A, but C
  // keeps its value, since B had none of its own (ChronoGraph's formulaIsInsignificant).
  CycleGroupDef def;
  def.members = {"a", "b", "c"};
  def.formulas = {rule(1, {0}), rule(2, {1})};
  const std::vector<std::uint8_t> input = {kHasProposed, kNoInput, kHasPrevious};
  EXPECT_EQ(resolve_cycle(def, input), (CycleResolution{-1, 0, -1}));
  // With a value of its own, B's successor follows.
  const std::vector<std::uint8_t> with_b = {kHasProposed, kHasPrevious, kHasPrevious};
  EXPECT_EQ(resolve_cycle(def, with_b), (CycleResolution{-1, 0, 1}));
}

TEST(CycleResolution, AFormulaWithoutInputsCountsAsAllInputsProposed) {
  // ChronoGraph's every() over no inputs is true: such a formula ranks with those whose
  // inputs are all proposed, so its walk comes first and wins the tie. With b proposed,
  // the formula reading b ranks higher (more inputs proposed) and wins: b is used.
  CycleGroupDef def;
  def.members = {"a", "b"};
  def.formulas = {rule(0, {1}), rule(0, {})};
  const std::vector<std::uint8_t> none = {kHasPrevious, kHasPrevious};
  EXPECT_EQ(resolve_cycle(def, none), (CycleResolution{1, -1}));
  const std::vector<std::uint8_t> b_proposed = {kHasPrevious, kHasPrevious | kHasProposed};
  EXPECT_EQ(resolve_cycle(def, b_proposed), (CycleResolution{0, -1}));
}

TEST(CycleResolution, PackedResolutionsHoldSixteenMembersAndFifteenFormulas) {
  CycleResolution r(kGroupMembersMax, -1);
  r[0] = 0;
  r[kGroupMembersMax - 1] = static_cast<int>(kGroupFormulasMax) - 1;  // the top nibble
  const std::int64_t code = pack_resolution(r);
  for (std::size_t m = 0; m < kGroupMembersMax; ++m) EXPECT_EQ(packed_formula(code, m), r[m]);
}

TEST(CycleResolution, TheLargestGroupResolvesWithinItsBound) {
  // A chain of 16 members with 15 formulas each way possible: the walk is bounded by
  // the 2^15 sets of formulas, not by their 15! orders.
  CycleGroupDef def;
  for (std::size_t m = 0; m < kGroupMembersMax; ++m) def.members.push_back(std::string("m") + std::to_string(m));
  for (std::size_t f = 0; f < kGroupFormulasMax; ++f) def.formulas.push_back(rule(f + 1, {0}));
  std::vector<std::uint8_t> input(kGroupMembersMax, kHasPrevious);
  input[0] |= kHasProposed;
  const CycleResolution r = resolve_cycle(def, input);
  ASSERT_EQ(r.size(), kGroupMembersMax);
  EXPECT_EQ(r[0], -1);
  for (std::size_t m = 1; m < kGroupMembersMax; ++m) EXPECT_EQ(r[m], static_cast<int>(m - 1));
}

TEST(CycleResolution, TheMemoStartsOverWhenFull) {
  CycleGroupDef def;
  def.members = {"a", "b", "c", "d", "e"};  // 8^5 = 32768 inputs, more than the memo holds
  def.formulas = {rule(0, {1, 2})};
  CycleResolutionMemo memo;
  std::vector<std::uint8_t> input(5);
  const std::size_t inputs = CycleResolutionMemo::kEntriesMax + 10;
  for (std::size_t k = 0; k < inputs; ++k) {
    for (std::size_t m = 0; m < 5; ++m) input[m] = static_cast<std::uint8_t>((k >> (3 * m)) & 7);
    EXPECT_EQ(memo.resolve(def, input), pack_resolution(resolve_cycle(def, input)));
  }
  EXPECT_EQ(memo.built(), inputs);
  // The first input was dropped when the memo started over: it is built again.
  std::fill(input.begin(), input.end(), 0);
  (void)memo.resolve(def, input);
  EXPECT_EQ(memo.built(), inputs + 1);
  // A recent one is still there.
  input[0] = static_cast<std::uint8_t>((inputs - 1) & 7);
  input[1] = static_cast<std::uint8_t>(((inputs - 1) >> 3) & 7);
  input[2] = static_cast<std::uint8_t>(((inputs - 1) >> 6) & 7);
  input[3] = static_cast<std::uint8_t>(((inputs - 1) >> 9) & 7);
  input[4] = static_cast<std::uint8_t>(((inputs - 1) >> 12) & 7);
  (void)memo.resolve(def, input);
  EXPECT_EQ(memo.built(), inputs + 1);
}

}  // namespace
}  // namespace mgraph
