// BENCH.md shapes commit-1k-d1, -d10, -d100 and commit-100k-d10: ChronoGraph's own commit
// benchmark. box[i] for i < depCount are sources = 1; every later box[i] is a strict
// derived node = Σ_{j=1..depCount} (box[i-j] mod 10000).

#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/harness.hpp"

namespace mgraph::bench {
namespace {

/// x mod 10000 with exactly std::fmod's result. std::fmod costs ~10 ns a call on this machine
/// class, which alone would be 70% of commit-1k-d100's goal, so non-negative x below 2^36
/// take BENCH.md's floor route: a branch, then the quotient truncated by an integer
/// conversion (no libm call). There q * 10000 is exact and x - q * 10000 is exact
/// (Sterbenz); a quotient rounded up to the next integer gives r < 0 and falls back.
double mod_10000(double x) {
  constexpr double kModulus = 10000.0;
  constexpr double kFastLimit = 0x1p36;
  if (x >= 0 && x < kModulus) return x;
  if (x >= 0 && x < kFastLimit) {
    const double q = static_cast<double>(static_cast<std::int64_t>(x / kModulus));
    const double r = x - q * kModulus;
    if (r >= 0 && r < kModulus) return r;
  }
  return std::fmod(x, kModulus);
}

Value sum_of_mods(Context& context) {
  double sum = 0;
  const std::size_t count = context.input_count();
  for (std::size_t k = 0; k < count; ++k) sum += mod_10000(context.input(k).as_double());
  return Value(sum);
}

/// The same as a kernel (FieldSpec::kernel), which the lean commit runs without a Context.
double sum_of_mods_kernel(std::span<const double> inputs, NodeId, const void*) {
  double sum = 0;
  for (double x : inputs) sum += mod_10000(x);
  return sum;
}

/// With `kernel`, the formula is a FieldSpec::kernel; without, a Formula on a Context.
class Commit final : public Shape {
 public:
  Commit(std::size_t atoms, std::size_t dependencies, bool kernel, std::uint32_t lanes)
      : Shape(Evaluation::strict, lanes) {
    MG_ASSERT(dependencies >= 1 && dependencies < atoms);
    graph_.reserve(atoms, (atoms - dependencies) * dependencies);
    sources_ = dependencies;
    for (std::size_t i = 0; i < dependencies; ++i) boxes_.push_back(add_variable(1));
    const SpecId spec = kernel ? add_kernel_spec(sum_of_mods_kernel, nullptr, "sum_of_mods")
                               : add_spec(sum_of_mods, "sum_of_mods");
    std::vector<NodeId> inputs(dependencies);
    for (std::size_t i = dependencies; i < atoms; ++i) {
      for (std::size_t j = 1; j <= dependencies; ++j) inputs[j - 1] = boxes_[i - j];
      boxes_.push_back(add_derived(spec, inputs));
    }
    commit();
    for (std::size_t i = sources_; i < atoms; ++i) read(boxes_[i]);
  }

  double update(std::uint64_t u) override {
    for (std::size_t i = 0; i < sources_; ++i) {
      write(boxes_[i], static_cast<double>((u + i) % 10));
    }
    commit();
    double sum = 0;
    for (std::size_t i = sources_; i < boxes_.size(); ++i) sum += read(boxes_[i]);
    return sum;
  }

 private:
  std::size_t sources_ = 0;
  std::vector<NodeId> boxes_;
};

ShapeDef commit_shape(const char* key, std::size_t atoms, std::size_t dependencies,
                      std::uint64_t updates, double checksum, bool kernel = true,
                      std::uint32_t lanes = 1) {
  return {key, updates, checksum,
          [=] { return std::make_unique<Commit>(atoms, dependencies, kernel, lanes); }};
}

}  // namespace

void register_commit_shapes() {
  register_shape(commit_shape("commit-1k-d1", 1000, 1, 20, 89910.0));
  register_shape(commit_shape("commit-1k-d10", 1000, 10, 20, 985420680.0));
  register_shape(commit_shape("commit-1k-d100", 1000, 100, 20, 8457674250.0));
  register_shape(commit_shape("commit-100k-d10", 100000, 10, 5, 24949823660.0));
  // On 2 threads (GraphOptions::lanes): a chain, each height one field, so no layer is
  // large enough for the lanes; measured to show that they cost it nothing.
  register_shape(commit_shape("commit-100k-d10/lanes:2", 100000, 10, 5, 24949823660.0, true, 2));
  // The Formula form (on a Context) of the same graphs.
  register_shape(commit_shape("commit-1k-d1-context", 1000, 1, 20, 89910.0, false));
  register_shape(commit_shape("commit-1k-d10-context", 1000, 10, 20, 985420680.0, false));
}

}  // namespace mgraph::bench
