// The floor: BENCH.md's shapes as hand-written C++ loops over flat arrays of doubles. Each
// update recomputes exactly the nodes the update affects, with the same formulas and in the
// same order as the engine, but with no dependency tracking at all: no marking, no
// scheduling, no journal, no equality checks, no Value boxing. No engine can beat it; it is
// the reference that `bench/compare.sh` divides mgraph's times by ("mgraph ÷ floor").
//
// Build and run (this is what bench/compare.sh does, from a scratch directory):
//   g++ -std=c++20 -O2 -march=native -o floor floor.cpp
//   ./floor                      every shape: median of 5 samples of >= 1 s each
//   ./floor --quick              smoke run: median of 3 samples of >= 0.05 s (not for reporting)
//   ./floor chain scale-pull     only the shapes named (any of the keys below)
//
// Per shape: build a fresh graph (evaluated once), verify it (updates u = 1..V, Σ results must
// equal BENCH.md's checksum exactly, or the program exits 1 naming the shape), then time the
// updates that follow (u continues from V + 1 and only grows). stdout gets one line per shape,
//   chain 0.661 us checksum=105050
// (µs per update, median of the samples; the checksum of the verification run), which
// compare.sh's `floor_times` reads. Progress and per-sample detail go to stderr.
//
// Equality cutoff: none is applied, because on these shapes it would never cut anything:
// every update changes every derived node of chain, broad, fanin's sum and cellx, and on the
// scale shapes a source moves by +1 (or −999 when it wraps), a delta that reaches every
// reachable node with a positive coefficient, so each of them changes. The commit shapes
// recompute every derived node in index order, as BENCH.md's floor does.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "../engine/mulberry32.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// Utilities

using mgraph::bench::Mulberry32;

/// Makes the compiler believe `value` is used and that any memory may be read: the result of
/// every update is consumed, and (with escape()) every store into the node arrays happens.
template <class T>
inline void do_not_optimize(const T& value) {
  asm volatile("" : : "r,m"(value) : "memory");
}

/// Lets a node array's address escape, so the "memory" clobber above covers its contents.
inline void escape(const void* pointer) { asm volatile("" : : "g"(pointer) : "memory"); }

/// x mod 10000 as BENCH.md writes it for the commit shapes: a branch plus floor (std::fmod's
/// result for the non-negative x these shapes produce).
inline double mod_10000(double x) {
  return x < 10000.0 ? x : x - 10000.0 * std::floor(x / 10000.0);
}

// ---------------------------------------------------------------------------------------------
// Shapes. Each is a struct whose constructor builds the arrays and evaluates every node once,
// and whose update(u) performs update number u and returns the shape's result.

/// chain: h = 0; c[0] = h + 1, c[i] = c[i-1] + 1 for i < 1000. update: h = u, read c[999].
struct Chain {
  static constexpr std::size_t kLength = 1000;
  double head = 0;
  std::vector<double> c = std::vector<double>(kLength);

  Chain() {
    escape(c.data());
    recompute();
  }
  void recompute() {
    c[0] = head + 1.0;
    for (std::size_t i = 1; i < kLength; ++i) c[i] = c[i - 1] + 1.0;
  }
  double update(std::uint64_t u) {
    head = static_cast<double>(u);
    recompute();
    return c[kLength - 1];
  }
};

/// broad: s = 0; b[i] = s + i for i < 1000. update: s = u, Σ b[i].
struct Broad {
  static constexpr std::size_t kWidth = 1000;
  double source = 0;
  std::vector<double> b = std::vector<double>(kWidth);

  Broad() {
    escape(b.data());
    recompute();
  }
  void recompute() {
    for (std::size_t i = 0; i < kWidth; ++i) b[i] = source + static_cast<double>(i);
  }
  double update(std::uint64_t u) {
    source = static_cast<double>(u);
    recompute();
    double sum = 0;
    for (std::size_t i = 0; i < kWidth; ++i) sum += b[i];
    return sum;
  }
};

/// fanin: x[i] = i for i < 1000; sum = Σ x[i] (one derived node over its 1000 inputs, summed
/// in full in index order, as a dependency graph recomputes it). update: x[u mod 1000] =
/// u + 1000, read sum.
struct Fanin {
  static constexpr std::size_t kWidth = 1000;
  std::vector<double> x = std::vector<double>(kWidth);
  double sum = 0;

  Fanin() {
    for (std::size_t i = 0; i < kWidth; ++i) x[i] = static_cast<double>(i);
    escape(x.data());
    escape(&sum);
    recompute();
  }
  void recompute() {
    double s = 0;
    for (std::size_t i = 0; i < kWidth; ++i) s += x[i];
    sum = s;
  }
  double update(std::uint64_t u) {
    x[u % kWidth] = static_cast<double>(u + 1000);
    recompute();
    return sum;
  }
};

/// cellx: start cells (a, b, c, d) = (1, 2, 3, 4); each of L layers derives a' = b,
/// b' = a − c, c' = b + d, d' = c from the previous one. update: the start cells become
/// (4, 3, 2, 1) for odd u, (1, 2, 3, 4) for even u; result a + 3b + 7c + 11d of the last layer.
/// cells[4 * k .. 4 * k + 3] is layer k (layer 0: the start cells).
struct Cellx {
  std::size_t layers;
  std::vector<double> cells;

  explicit Cellx(std::size_t layer_count) : layers(layer_count), cells(4 * (layer_count + 1)) {
    for (int k = 0; k < 4; ++k) cells[k] = k + 1.0;
    escape(cells.data());
    recompute();
  }
  void recompute() {
    double* cell = cells.data();
    for (std::size_t layer = 0; layer < layers; ++layer, cell += 4) {
      const double a = cell[0], b = cell[1], c = cell[2], d = cell[3];
      cell[4] = b;
      cell[5] = a - c;
      cell[6] = b + d;
      cell[7] = c;
    }
  }
  double update(std::uint64_t u) {
    const bool odd = u % 2 == 1;
    for (int k = 0; k < 4; ++k) cells[k] = odd ? 4.0 - k : 1.0 + k;
    recompute();
    const double* last = cells.data() + 4 * layers;
    return last[0] + 3 * last[1] + 7 * last[2] + 11 * last[3];
  }
};

/// commit-*: box[i] for i < deps are sources = 1; box[i] for deps <= i < atoms is derived =
/// Σ_{j=1..deps} (box[i-j] mod 10000). update: box[i] = (u + i) mod 10 for i < deps; result
/// Σ of the derived boxes in index order.
struct Commit {
  std::size_t atoms;
  std::size_t deps;
  std::vector<double> box;

  Commit(std::size_t atom_count, std::size_t dep_count)
      : atoms(atom_count), deps(dep_count), box(atom_count, 1.0) {
    escape(box.data());
    recompute();
  }
  void recompute() {
    for (std::size_t i = deps; i < atoms; ++i) {
      double sum = 0;
      for (std::size_t j = 1; j <= deps; ++j) sum += mod_10000(box[i - j]);
      box[i] = sum;
    }
  }
  double update(std::uint64_t u) {
    for (std::size_t i = 0; i < deps; ++i) box[i] = static_cast<double>((u + i) % 10);
    recompute();
    double sum = 0;
    for (std::size_t i = deps; i < atoms; ++i) sum += box[i];
    return sum;
  }
};

/// scale-pull / scale-effect: a layered random DAG, 100,000 wide and 10 layers deep. Layer 0
/// holds the sources v[j] = j mod 1000; every node of layers 1..9 is the sum of 2..4 distinct
/// parents in the layer before, drawn with mulberry32(1). The update list holds 128 sources
/// drawn with mulberry32(2). update(u): s = list[(u − 1) mod 128], v[s] = (v[s] + 1) mod 1000;
/// result Σ of the last-layer nodes reachable from s, in ascending index.
///
/// Nodes are numbered globally, layer * kWidth + index. The parents are a CSR array of global
/// indices. Outside timing, for each of the 128 update sources, the reach (every node of
/// layers 1..9 reachable from it, in layer order and ascending within a layer) is precomputed;
/// an update recomputes exactly those nodes, each as the sum of its parents in draw order.
/// With `effects`, every last-layer node also has an observer that reads it: after the
/// recomputation the observers of the affected sinks run, in ascending index, each adding the
/// sink's value to an accumulator that verify_effects() checks.
struct Scale {
  static constexpr std::uint32_t kWidth = 100000;
  static constexpr std::uint32_t kLayers = 10;  // layer 0 holds the sources
  static constexpr std::uint32_t kNodes = kWidth * kLayers;
  static constexpr std::size_t kUpdateSources = 128;

  bool effects;
  std::vector<double> value = std::vector<double>(kNodes);
  std::vector<std::uint32_t> parent_begin;  // per global node (0 for sources), plus one end entry
  std::vector<std::uint32_t> parents;       // global indices
  std::vector<std::uint32_t> update_sources;
  std::vector<std::uint32_t> reach;         // per update source, its affected nodes, concatenated
  std::vector<std::size_t> reach_begin;     // per update source, plus one end entry
  std::vector<std::size_t> sinks_begin;     // per update source: where its last layer starts
  double effect_sum = 0;                    // the observers' accumulator
  std::uint64_t effect_calls = 0;
  std::uint64_t sinks_reached = 0;          // Σ reachable sinks over the updates (for the check)

  explicit Scale(bool with_effects) : effects(with_effects) {
    build_topology();
    for (std::uint32_t j = 0; j < kWidth; ++j) value[j] = static_cast<double>(j % 1000);
    for (std::uint32_t node = kWidth; node < kNodes; ++node) value[node] = sum_of_parents(node);
    build_reach();
    escape(value.data());
    escape(&effect_sum);
  }

  void build_topology() {
    Mulberry32 rng(1);
    parent_begin.assign(kWidth, 0);
    parent_begin.reserve(kNodes + 1);
    parents.reserve(std::size_t{3} * (kNodes - kWidth));
    for (std::uint32_t node = kWidth; node < kNodes; ++node) {
      const std::uint32_t layer_start = (node / kWidth - 1) * kWidth;
      const std::size_t begin = parents.size();
      parent_begin.push_back(static_cast<std::uint32_t>(begin));
      const std::uint32_t count = 2 + rng.next() % 3;
      while (parents.size() - begin < count) {
        const std::uint32_t parent = layer_start + rng.next() % kWidth;
        if (std::find(parents.begin() + begin, parents.end(), parent) == parents.end()) {
          parents.push_back(parent);
        }
      }
    }
    parent_begin.push_back(static_cast<std::uint32_t>(parents.size()));
  }

  /// For each update source: the nodes of layers 1..9 reachable from it, by layer, each layer
  /// ascending (through a children CSR, the inverse of the parents').
  void build_reach() {
    std::vector<std::uint32_t> child_begin(kNodes + 1, 0);
    for (std::uint32_t p : parents) ++child_begin[p + 1];
    for (std::uint32_t n = 0; n < kNodes; ++n) child_begin[n + 1] += child_begin[n];
    std::vector<std::uint32_t> children(parents.size());
    std::vector<std::uint32_t> fill(child_begin.begin(), child_begin.end() - 1);
    for (std::uint32_t node = kWidth; node < kNodes; ++node) {
      for (std::uint32_t k = parent_begin[node]; k < parent_begin[node + 1]; ++k) {
        children[fill[parents[k]]++] = node;
      }
    }

    Mulberry32 rng(2);
    std::vector<std::uint32_t> stamp(kNodes, 0);
    std::vector<std::uint32_t> layer, next;
    for (std::size_t q = 0; q < kUpdateSources; ++q) {
      const std::uint32_t source = rng.next() % kWidth;
      update_sources.push_back(source);
      reach_begin.push_back(reach.size());
      layer.assign(1, source);
      for (std::uint32_t l = 1; l < kLayers; ++l) {
        next.clear();
        for (std::uint32_t node : layer) {
          for (std::uint32_t k = child_begin[node]; k < child_begin[node + 1]; ++k) {
            const std::uint32_t child = children[k];
            if (stamp[child] != q + 1) {
              stamp[child] = static_cast<std::uint32_t>(q + 1);
              next.push_back(child);
            }
          }
        }
        std::sort(next.begin(), next.end());
        if (l == kLayers - 1) sinks_begin.push_back(reach.size());
        reach.insert(reach.end(), next.begin(), next.end());
        layer.swap(next);
      }
    }
    reach_begin.push_back(reach.size());
  }

  double sum_of_parents(std::uint32_t node) const {
    double sum = 0;
    for (std::uint32_t k = parent_begin[node]; k < parent_begin[node + 1]; ++k) {
      sum += value[parents[k]];
    }
    return sum;
  }

  double update(std::uint64_t u) {
    const std::size_t q = (u - 1) % kUpdateSources;
    double& source = value[update_sources[q]];
    source = source + 1.0 < 1000.0 ? source + 1.0 : source + 1.0 - 1000.0;

    const std::uint32_t* first = reach.data() + reach_begin[q];
    const std::uint32_t* sinks = reach.data() + sinks_begin[q];
    const std::uint32_t* last = reach.data() + reach_begin[q + 1];
    for (const std::uint32_t* n = first; n != last; ++n) value[*n] = sum_of_parents(*n);

    double sum = 0;
    for (const std::uint32_t* n = sinks; n != last; ++n) sum += value[*n];
    if (effects) {
      // The observers of the affected sinks, each reading its sink.
      for (const std::uint32_t* n = sinks; n != last; ++n) observe(value[*n]);
      sinks_reached += static_cast<std::uint64_t>(last - sinks);
    }
    return sum;
  }

  void observe(double sink_value) {
    effect_sum += sink_value;
    ++effect_calls;
  }

  /// After the verification run: the observers saw every reachable sink once and summed to the
  /// same checksum as the reads. Empty if so, else what differs.
  std::string verify_effects(double checksum) const {
    if (!effects || (effect_sum == checksum && effect_calls == sinks_reached)) return {};
    char why[160];
    std::snprintf(why, sizeof why, "observers ran %llu times summing %.17g; expected %llu summing %.17g",
                  static_cast<unsigned long long>(effect_calls), effect_sum,
                  static_cast<unsigned long long>(sinks_reached), checksum);
    return why;
  }
};

// ---------------------------------------------------------------------------------------------
// Measurement

struct Options {
  double min_seconds = 1.0;  // per sample
  int samples = 5;
};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Updates per batch between clock reads: doubled until a batch takes >= 0.5 ms (or the
/// sample length, if shorter). The calibration's updates continue u like any other.
template <class Shape>
std::uint64_t calibrate_batch(Shape& shape, std::uint64_t& u, double min_seconds) {
  const double target = std::min(0.5e-3, min_seconds);
  std::uint64_t batch = 1;
  for (;;) {
    const Clock::time_point start = Clock::now();
    for (std::uint64_t k = 0; k < batch; ++k) do_not_optimize(shape.update(u++));
    if (seconds_since(start) >= target) return batch;
    batch *= 2;
  }
}

/// One sample: whole batches of updates until >= min_seconds; µs per update.
template <class Shape>
double sample_us(Shape& shape, std::uint64_t& u, std::uint64_t batch, double min_seconds,
                 std::uint64_t& updates) {
  updates = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0;
  do {
    for (std::uint64_t k = 0; k < batch; ++k) do_not_optimize(shape.update(u++));
    updates += batch;
    elapsed = seconds_since(start);
  } while (elapsed < min_seconds);
  return elapsed * 1e6 / static_cast<double>(updates);
}

/// Builds the shape, verifies its checksum over u = 1..V, times the following updates and
/// prints the result line. Returns false (after a message on stderr) if the checksum differs.
template <class Shape, class... Args>
bool measure(const char* key, std::uint64_t verify_updates, double checksum,
             const Options& options, Args... args) {
  std::fprintf(stderr, "[floor] %s: building\n", key);
  const Clock::time_point built_at = Clock::now();
  Shape shape(args...);
  const double build_seconds = seconds_since(built_at);

  std::uint64_t u = 1;
  double sum = 0;
  for (; u <= verify_updates; ++u) sum += shape.update(u);
  if (sum != checksum) {
    std::fprintf(stderr, "[floor] %s: CHECKSUM MISMATCH: Σ update(u) for u = 1..%llu is %.17g, "
                 "expected %.17g\n", key, static_cast<unsigned long long>(verify_updates), sum,
                 checksum);
    return false;
  }
  if constexpr (requires { shape.verify_effects(checksum); }) {
    const std::string why = shape.verify_effects(checksum);
    if (!why.empty()) {
      std::fprintf(stderr, "[floor] %s: EFFECTS MISMATCH: %s\n", key, why.c_str());
      return false;
    }
  }

  const std::uint64_t batch = calibrate_batch(shape, u, options.min_seconds);
  std::vector<double> samples;
  std::uint64_t total_updates = 0;
  for (int s = 0; s < options.samples; ++s) {
    std::uint64_t updates = 0;
    samples.push_back(sample_us(shape, u, batch, options.min_seconds, updates));
    total_updates += updates;
  }
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;

  std::string detail;
  for (double s : samples) {
    detail += ' ';
    detail += std::to_string(s);
  }
  std::fprintf(stderr, "[floor] %s: built in %.3f s; checksum %.0f verified over %llu updates; "
               "%llu timed updates in batches of %llu; samples (us):%s\n",
               key, build_seconds, sum, static_cast<unsigned long long>(verify_updates),
               static_cast<unsigned long long>(total_updates),
               static_cast<unsigned long long>(batch), detail.c_str());
  std::printf("%s %.3f us checksum=%.0f\n", key, median, sum);
  std::fflush(stdout);
  return true;
}

// ---------------------------------------------------------------------------------------------
// The shapes, in BENCH.md's order: key, and how to measure it (V and checksum from BENCH.md).

struct ShapeEntry {
  const char* key;
  std::function<bool(const Options&)> run;
};

const std::vector<ShapeEntry>& shapes() {
  static const std::vector<ShapeEntry> all = {
      {"chain", [](const Options& o) { return measure<Chain>("chain", 100, 105050.0, o); }},
      {"broad", [](const Options& o) { return measure<Broad>("broad", 100, 55000000.0, o); }},
      {"fanin", [](const Options& o) { return measure<Fanin>("fanin", 2500, 4376501000.0, o); }},
      {"cellx-1000",
       [](const Options& o) { return measure<Cellx>("cellx-1000", 20, 200.0, o, 1000); }},
      {"cellx-5000",
       [](const Options& o) { return measure<Cellx>("cellx-5000", 20, -1300.0, o, 5000); }},
      {"commit-1k-d1",
       [](const Options& o) {
         return measure<Commit>("commit-1k-d1", 20, 89910.0, o, 1000, 1);
       }},
      {"commit-1k-d10",
       [](const Options& o) {
         return measure<Commit>("commit-1k-d10", 20, 985420680.0, o, 1000, 10);
       }},
      {"commit-1k-d100",
       [](const Options& o) {
         return measure<Commit>("commit-1k-d100", 20, 8457674250.0, o, 1000, 100);
       }},
      {"commit-100k-d10",
       [](const Options& o) {
         return measure<Commit>("commit-100k-d10", 5, 24949823660.0, o, 100000, 10);
       }},
      {"scale-pull",
       [](const Options& o) {
         return measure<Scale>("scale-pull", 5, 1184265425966.0, o, false);
       }},
      {"scale-effect",
       [](const Options& o) {
         return measure<Scale>("scale-effect", 5, 1184265425966.0, o, true);
       }},
  };
  return all;
}

void usage() {
  std::fprintf(stderr, "usage: floor [--quick] [SHAPE...]\nshapes:");
  for (const ShapeEntry& entry : shapes()) std::fprintf(stderr, " %s", entry.key);
  std::fprintf(stderr, "\n");
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick") {
      options.min_seconds = 0.05;
      options.samples = 3;
    } else if (arg == "-h" || arg == "--help") {
      usage();
      return 0;
    } else if (arg.starts_with("-")) {
      std::fprintf(stderr, "floor: unknown option %s\n", arg.c_str());
      usage();
      return 2;
    } else {
      const bool known = std::any_of(shapes().begin(), shapes().end(),
                                     [&](const ShapeEntry& e) { return arg == e.key; });
      if (!known) {
        std::fprintf(stderr, "floor: unknown shape %s\n", arg.c_str());
        usage();
        return 2;
      }
      wanted.push_back(arg);
    }
  }
  if (options.samples != 5) {
    std::fprintf(stderr, "[floor] QUICK MODE: %d samples of >= %.2f s, not for reporting\n",
                 options.samples, options.min_seconds);
  }

  int failures = 0;
  for (const ShapeEntry& entry : shapes()) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), entry.key) == wanted.end()) {
      continue;
    }
    if (!entry.run(options)) ++failures;
  }
  if (failures != 0) {
    std::fprintf(stderr, "floor: %d shape(s) failed verification\n", failures);
    return 1;
  }
  return 0;
}
