// BENCH.md shapes chain, broad, fanin and cellx-1000 / cellx-5000. All derived nodes are
// strict: commit() brings them up to date and the reads that follow are plain lookups.

#include <memory>
#include <span>
#include <vector>

#include "engine/harness.hpp"

namespace mgraph::bench {
namespace {

// The same formulas as kernels (FieldSpec::kernel): plain functions over the inputs as
// doubles, which the lean commit runs without a Context or a Value.
double plus_one_kernel(std::span<const double> in, NodeId, const void*) { return in[0] + 1.0; }
double copy_kernel(std::span<const double> in, NodeId, const void*) { return in[0]; }
double add_kernel(std::span<const double> in, NodeId, const void*) { return in[0] + in[1]; }
double subtract_kernel(std::span<const double> in, NodeId, const void*) { return in[0] - in[1]; }

// What each kernel computes (FieldSpec::kernel_form), so that a commit computes it in line.
constexpr KernelForm kPlusOneForm{KernelForm::Op::add, KernelForm::Operands::input_constant, 0, 0, 1.0};
constexpr KernelForm kCopyForm{KernelForm::Op::copy, KernelForm::Operands::inputs, 0, 0, 0.0};
constexpr KernelForm kAddForm{KernelForm::Op::add, KernelForm::Operands::inputs, 0, 1, 0.0};
constexpr KernelForm kSubtractForm{KernelForm::Op::subtract, KernelForm::Operands::inputs, 0, 1, 0.0};

Value plus_one(Context& context) { return Value(context.input(0).as_double() + 1.0); }
Value copy_input(Context& context) { return Value(context.input(0).as_double()); }
Value add_inputs(Context& context) {
  return Value(context.input(0).as_double() + context.input(1).as_double());
}
Value subtract_inputs(Context& context) {
  return Value(context.input(0).as_double() - context.input(1).as_double());
}

/// chain: h = 0; c[0] = h + 1, c[i] = c[i-1] + 1. update: h = u, read c[999].
/// With `kernel`, the formula is a FieldSpec::kernel; without, a Formula on a Context.
class Chain final : public Shape {
 public:
  static constexpr std::size_t kLength = 1000;

  explicit Chain(bool kernel) : Shape(Evaluation::strict) {
    graph_.reserve(kLength + 1, kLength);
    head_ = add_variable(0);
    const SpecId spec = kernel ? add_kernel_spec(plus_one_kernel, nullptr, "plus_one", kPlusOneForm)
                               : add_spec(plus_one, "plus_one");
    NodeId previous = head_;
    for (std::size_t i = 0; i < kLength; ++i) previous = add_derived(spec, {previous});
    tail_ = previous;
    commit();
    read(tail_);
  }

  double update(std::uint64_t u) override {
    write(head_, static_cast<double>(u));
    commit();
    return read(tail_);
  }

 private:
  NodeId head_ = kNoNode;
  NodeId tail_ = kNoNode;
};

/// broad: s = 0; b[i] = s + i. update: s = u, Σ read(b[i]). One spec serves all b[i]: the
/// offset i is the node's distance from b[0] (nodes get consecutive ids).
class Broad final : public Shape {
 public:
  static constexpr std::size_t kWidth = 1000;

  explicit Broad(bool kernel) : Shape(Evaluation::strict) {
    graph_.reserve(kWidth + 1, kWidth);
    source_ = add_variable(0);
    first_ = static_cast<NodeId>(graph_.node_count());  // the id b[0] gets
    // The kernel's form: in[0] + (node - first), the field's position in the run.
    const KernelForm offset{KernelForm::Op::add, KernelForm::Operands::input_position, 0, 0,
                            static_cast<double>(first_)};
    const SpecId spec =
        kernel ? add_kernel_spec(
                     [](std::span<const double> in, NodeId node, const void* data) {
                       const NodeId first = static_cast<const Broad*>(data)->first_;
                       return in[0] + static_cast<double>(node - first);
                     },
                     this, "source_plus_offset", offset)
               : add_spec(
                     [this](Context& context) {
                       return Value(context.input(0).as_double() +
                                    static_cast<double>(context.node() - first_));
                     },
                     "source_plus_offset");
    for (std::size_t i = 0; i < kWidth; ++i) {
      const NodeId node = add_derived(spec, {source_});
      MG_ASSERT(node == first_ + i);
      nodes_.push_back(node);
    }
    commit();
    for (NodeId node : nodes_) read(node);
  }

  double update(std::uint64_t u) override {
    write(source_, static_cast<double>(u));
    commit();
    double sum = 0;
    for (NodeId node : nodes_) sum += read(node);
    return sum;
  }

 private:
  NodeId source_ = kNoNode;
  NodeId first_ = kNoNode;
  std::vector<NodeId> nodes_;
};

/// fanin: x[i] = i; sum = Σ x[i] in one node. update: x[u mod 1000] = u + 1000, read sum.
class Fanin final : public Shape {
 public:
  static constexpr std::size_t kWidth = 1000;

  Fanin() : Shape(Evaluation::strict) {
    graph_.reserve(kWidth + 1, kWidth);
    for (std::size_t i = 0; i < kWidth; ++i)
      sources_.push_back(add_variable(static_cast<double>(i)));
    sum_ = add_derived(add_spec(sum_inputs, "sum"), sources_);
    commit();
    read(sum_);
  }

  double update(std::uint64_t u) override {
    write(sources_[u % kWidth], static_cast<double>(u + 1000));
    commit();
    return read(sum_);
  }

 private:
  std::vector<NodeId> sources_;
  NodeId sum_ = kNoNode;
};

/// cellx: layers of (a, b, c, d) with a' = b, b' = a - c, c' = b + d, d' = c. update: the
/// start cells become (4,3,2,1) for odd u, (1,2,3,4) for even u, in one transaction;
/// result a + 3b + 7c + 11d of the last layer.
class Cellx final : public Shape {
 public:
  Cellx(std::size_t layers, bool kernel) : Shape(Evaluation::strict) {
    graph_.reserve(4 * (layers + 1), 6 * layers);
    for (int k = 0; k < 4; ++k) start_[k] = add_variable(k + 1.0);
    const SpecId copy =
        kernel ? add_kernel_spec(copy_kernel, nullptr, "copy", kCopyForm) : add_spec(copy_input, "copy");
    const SpecId add =
        kernel ? add_kernel_spec(add_kernel, nullptr, "add", kAddForm) : add_spec(add_inputs, "add");
    const SpecId subtract = kernel ? add_kernel_spec(subtract_kernel, nullptr, "subtract", kSubtractForm)
                                   : add_spec(subtract_inputs, "subtract");
    NodeId a = start_[0], b = start_[1], c = start_[2], d = start_[3];
    for (std::size_t layer = 0; layer < layers; ++layer) {
      const NodeId a_next = add_derived(copy, {b});
      const NodeId b_next = add_derived(subtract, {a, c});
      const NodeId c_next = add_derived(add, {b, d});
      const NodeId d_next = add_derived(copy, {c});
      a = a_next, b = b_next, c = c_next, d = d_next;
    }
    end_[0] = a, end_[1] = b, end_[2] = c, end_[3] = d;
    commit();
    for (NodeId node : end_) read(node);
  }

  double update(std::uint64_t u) override {
    const bool odd = (u % 2) == 1;
    for (int k = 0; k < 4; ++k) write(start_[k], odd ? 4.0 - k : 1.0 + k);
    commit();
    return read(end_[0]) + 3 * read(end_[1]) + 7 * read(end_[2]) + 11 * read(end_[3]);
  }

 private:
  NodeId start_[4] = {};
  NodeId end_[4] = {};
};

}  // namespace

std::unique_ptr<Shape> make_chain_shape(bool kernel) { return std::make_unique<Chain>(kernel); }
std::unique_ptr<Shape> make_broad_shape(bool kernel) { return std::make_unique<Broad>(kernel); }
std::unique_ptr<Shape> make_cellx_shape(std::size_t layers, bool kernel) {
  return std::make_unique<Cellx>(layers, kernel);
}
std::unique_ptr<Shape> make_fanin_shape() { return std::make_unique<Fanin>(); }

void register_small_shapes() {
  // BENCH.md's keys take the fastest form the API offers for the formula: kernels. The
  // `-context` variants keep measuring the same graphs with Formula on a Context.
  register_shape({"chain", 100, 105050.0, [] { return std::make_unique<Chain>(true); }});
  register_shape({"broad", 100, 55000000.0, [] { return std::make_unique<Broad>(true); }});
  register_shape({"fanin", 2500, 4376501000.0, [] { return std::make_unique<Fanin>(); }});
  register_shape({"cellx-1000", 20, 200.0, [] { return std::make_unique<Cellx>(1000, true); }});
  register_shape({"cellx-5000", 20, -1300.0, [] { return std::make_unique<Cellx>(5000, true); }});
  register_shape({"chain-context", 100, 105050.0, [] { return std::make_unique<Chain>(false); }});
  register_shape({"broad-context", 100, 55000000.0, [] { return std::make_unique<Broad>(false); }});
  register_shape(
      {"cellx-1000-context", 20, 200.0, [] { return std::make_unique<Cellx>(1000, false); }});
}

}  // namespace mgraph::bench
