#pragma once
// Values held by graph nodes: null, bool, int64, double, string and dense f64 tensors.
//
// A Value is 16 bytes. Scalars live inline; strings and tensors are immutable,
// reference-counted blocks shared by every copy, so copying a Value never copies
// its payload and a scalar node needs no heap allocation.

#include <Eigen/Core>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "mgraph/graph/status.hpp"

namespace mgraph {

enum class ValueType : std::uint8_t { null = 0, boolean, int64, float64, string, tensor };

/// Name of a value type ("null", "bool", "int64", "double", "string", "tensor").
const char* value_type_name(ValueType type);

namespace detail {
struct StringRep;
struct TensorRep;
}  // namespace detail

/// An immutable dense tensor of doubles, row-major, rank 0 to 4.
/// Copies share the same block; equality compares shape and elements.
class Tensor {
 public:
  static constexpr std::size_t rank_max = 4;
  /// Elements in one tensor; bounds the memory one value can claim.
  static constexpr std::size_t elements_max = std::size_t{1} << 28;

  using RowMajorMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  /// A tensor of the given shape filled with `data` (row-major). Fails when the rank
  /// exceeds rank_max, a dimension is zero-sized overflowing, or data.size() != product(shape).
  static Result<Tensor> make(std::span<const std::size_t> shape, std::span<const double> data);
  static Result<Tensor> make(std::initializer_list<std::size_t> shape,
                             std::initializer_list<double> data);
  /// A rank-0 tensor holding one number.
  static Tensor scalar(double x);
  /// A rank-1 tensor.
  static Tensor vector(std::span<const double> data);
  /// A rank-2 tensor copied from an Eigen matrix.
  static Tensor matrix(const Eigen::Ref<const Eigen::MatrixXd>& m);

  Tensor(const Tensor& other) noexcept;
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(const Tensor& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor();

  std::size_t rank() const;
  std::size_t dim(std::size_t axis) const;  ///< REQUIRES: axis < rank()
  std::span<const std::size_t> shape() const;
  std::size_t size() const;  ///< number of elements
  std::span<const double> data() const;

  /// The tensor as a matrix view. Rank 2 maps directly; rank 1 is one row; rank 0 is 1x1.
  /// REQUIRES: rank() <= 2.
  Eigen::Map<const RowMajorMatrix> as_matrix() const;

  friend bool operator==(const Tensor& a, const Tensor& b);

 private:
  friend class Value;
  explicit Tensor(detail::TensorRep* rep) noexcept : rep_(rep) {}
  detail::TensorRep* rep_;
};

/// A node's value. Equality is per type: values of different types are unequal
/// (1 and 1.0 differ); doubles compare with ==, except that NaN equals NaN so a
/// NaN result does not count as a change on every commit.
class Value {
 public:
  Value() noexcept : i_(0), type_(ValueType::null) {}
  Value(std::nullptr_t) noexcept : Value() {}                                // NOLINT
  Value(bool b) noexcept : i_(0), type_(ValueType::boolean) { b_ = b; }      // NOLINT
  Value(int i) noexcept : i_(i), type_(ValueType::int64) {}                  // NOLINT
  Value(std::int64_t i) noexcept : i_(i), type_(ValueType::int64) {}         // NOLINT
  Value(double d) noexcept : d_(d), type_(ValueType::float64) {}             // NOLINT
  Value(std::string_view s);                                                 // NOLINT
  Value(const char* s) : Value(std::string_view(s)) {}                       // NOLINT
  Value(const std::string& s) : Value(std::string_view(s)) {}                // NOLINT
  Value(const Tensor& t) noexcept;                                           // NOLINT

  Value(const Value& other) noexcept : i_(other.i_), type_(other.type_) { retain(); }
  Value(Value&& other) noexcept : i_(other.i_), type_(other.type_) {
    other.type_ = ValueType::null;
    other.i_ = 0;
  }
  Value& operator=(const Value& other) noexcept {
    if (this != &other) {
      other.retain();
      release();
      i_ = other.i_;
      type_ = other.type_;
    }
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    if (this != &other) {
      release();
      i_ = other.i_;
      type_ = other.type_;
      other.type_ = ValueType::null;
      other.i_ = 0;
    }
    return *this;
  }
  ~Value() { release(); }
  /// Replaces a double by `d` in place (the engine's commit of a number over a number).
  /// REQUIRES: is_double(), so that nothing is released.
  void replace_double(double d) noexcept { d_ = d; }

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::null; }
  bool is_bool() const { return type_ == ValueType::boolean; }
  bool is_int() const { return type_ == ValueType::int64; }
  bool is_double() const { return type_ == ValueType::float64; }
  bool is_number() const { return is_int() || is_double(); }
  bool is_string() const { return type_ == ValueType::string; }
  bool is_tensor() const { return type_ == ValueType::tensor; }

  /// REQUIRES: the matching is_*() holds.
  bool as_bool() const {
    MG_ASSERT(is_bool());
    return b_;
  }
  std::int64_t as_int() const {
    MG_ASSERT(is_int());
    return i_;
  }
  double as_double() const {
    MG_ASSERT(is_double());
    return d_;
  }
  /// An int64 or a double as a double. REQUIRES: is_number().
  double number() const {
    MG_ASSERT(is_number());
    return is_double() ? d_ : static_cast<double>(i_);
  }
  std::string_view as_string() const;
  Tensor as_tensor() const;

  /// A compact JSON rendering: null, true, 3, 2.5, "text", {"shape":[2],"data":[1,2]}.
  std::string to_json() const;

  friend bool operator==(const Value& a, const Value& b) {
    if (a.type_ != b.type_) return false;
    switch (a.type_) {
      case ValueType::null: return true;
      case ValueType::boolean: return a.b_ == b.b_;
      case ValueType::int64: return a.i_ == b.i_;
      case ValueType::float64: return a.d_ == b.d_ || (a.d_ != a.d_ && b.d_ != b.d_);
      default: return heap_equal(a, b);
    }
  }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  bool on_heap() const { return type_ >= ValueType::string; }
  void retain() const noexcept {
    if (on_heap()) retain_heap();
  }
  void release() noexcept {
    if (on_heap()) release_heap();
  }
  void retain_heap() const noexcept;
  void release_heap() noexcept;
  static bool heap_equal(const Value& a, const Value& b);

  union {
    bool b_;
    std::int64_t i_;
    double d_;
    detail::StringRep* s_;
    detail::TensorRep* t_;
  };
  ValueType type_;
};

static_assert(sizeof(Value) == 16, "a Value is two words");

}  // namespace mgraph
