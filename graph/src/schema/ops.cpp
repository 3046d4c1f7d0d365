#include "ops.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mgraph::schema::ops {
namespace {

[[noreturn]] void type_error(std::string what) { throw FormulaError(std::move(what)); }

Tensor make_tensor(std::span<const std::size_t> shape, std::span<const double> data) {
  Result<Tensor> t = Tensor::make(shape, data);
  if (!t.is_ok()) type_error(t.status().message());
  return std::move(t).value();
}

double apply(char op, double x, double y) {
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return x / y;
    default:
      return std::fmod(x, y);
  }
}

Value elementwise(char op, const Value& a, const Value& b) {
  if (a.is_tensor() && b.is_tensor()) {
    const Tensor x = a.as_tensor(), y = b.as_tensor();
    if (!std::equal(x.shape().begin(), x.shape().end(), y.shape().begin(), y.shape().end())) {
      type_error(std::string("shapes differ in elementwise '") + op + "'");
    }
    std::vector<double> out(x.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = apply(op, x.data()[i], y.data()[i]);
    return make_tensor(x.shape(), out);
  }
  const bool left = a.is_tensor();
  const Tensor t = left ? a.as_tensor() : b.as_tensor();
  const double s = num(left ? b : a);
  std::vector<double> out(t.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = left ? apply(op, t.data()[i], s) : apply(op, s, t.data()[i]);
  }
  return make_tensor(t.shape(), out);
}

void check_text_bytes(std::size_t bytes) {
  if (bytes > kStringBytesMax) {
    type_error("a string of " + std::to_string(bytes) + " bytes exceeds the limit of " +
               std::to_string(kStringBytesMax));
  }
}

/// Throws when a result of rows x cols would exceed Tensor::elements_max; checked before
/// Eigen allocates it, as Tensor::make checks shapes.
void check_elements(std::size_t rows, std::size_t cols, const char* fn) {
  if (cols != 0 && rows > Tensor::elements_max / cols) {
    type_error(std::string(fn) + ": the result would have more than elements_max elements");
  }
}

Tensor matrix_of(const Value& v, const char* fn) {
  Tensor t = as_tensor(v);
  if (t.rank() > 2) type_error(std::string(fn) + " takes a vector or a matrix");
  return t;
}

}  // namespace

void not_finite(double x, const std::string& where) {
  throw FormulaError(where + ": the result is " + (std::isnan(x) ? "NaN" : "infinite") +
                     "; a float field holds finite numbers");
}

double num(const Value& v) {
  if (v.is_number()) return v.number();
  if (v.is_bool()) return v.as_bool() ? 1 : 0;
  if (v.is_null()) return 0;
  type_error(std::string("expected a number, got ") + value_type_name(v.type()));
}

std::int64_t integer(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_null()) return 0;
  type_error(std::string("expected an int, got ") + value_type_name(v.type()));
}

std::string_view text(const Value& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_null()) return {};
  type_error(std::string("expected a string, got ") + value_type_name(v.type()));
}

Value text_value(std::string s) {
  check_text_bytes(s.size());
  return Value(s);
}

std::int64_t add_wrapping(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}

std::int64_t sub_wrapping(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}

std::int64_t saturating_int(double x) {
  // 2^63 is exact as a double; every double below it converts without overflow.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (std::isnan(x)) return 0;
  if (x >= kTwo63) return std::numeric_limits<std::int64_t>::max();
  if (x < -kTwo63) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(x);
}

bool truthy(const Value& v) {
  if (v.is_bool()) return v.as_bool();
  if (v.is_null()) return false;
  type_error(std::string("expected a bool, got ") + value_type_name(v.type()));
}

Tensor as_tensor(const Value& v) {
  if (v.is_tensor()) return v.as_tensor();
  if (v.is_null()) return make_tensor(std::array<std::size_t, 1>{0}, {});
  type_error(std::string("expected a tensor, got ") + value_type_name(v.type()));
}

Value arith(char op, const Value& a, const Value& b) {
  if (a.is_tensor() || b.is_tensor()) return elementwise(op, a, b);
  if (op == '+' && (a.is_string() || b.is_string())) {
    if (!a.is_string() || !b.is_string()) type_error("'+' joins two strings");
    check_text_bytes(a.as_string().size() + b.as_string().size());
    return Value(std::string(a.as_string()) + std::string(b.as_string()));
  }
  // Null reads as 0 of the other operand's type (an int stays an int).
  if ((a.is_int() || a.is_null()) && (b.is_int() || b.is_null()) && op != '/') {
    const std::int64_t x = integer(a), y = integer(b);
    if (op == '%') {
      if (y == 0) type_error("integer modulo by zero");
      // INT64_MIN % -1 overflows (x86 traps); the remainder by -1 is always 0.
      return Value(y == -1 ? std::int64_t{0} : x % y);
    }
    // Wrap-around is defined through unsigned arithmetic; overflow is not undefined.
    const auto ux = static_cast<std::uint64_t>(x), uy = static_cast<std::uint64_t>(y);
    const std::uint64_t r = op == '+' ? ux + uy : op == '-' ? ux - uy : ux * uy;
    return Value(static_cast<std::int64_t>(r));
  }
  return Value(apply(op, num(a), num(b)));
}

Value compare(std::string_view op, const Value& a, const Value& b) {
  // `x == null` asks whether x has no value (a nullable field): null equals null only.
  // Ordering reads null as 0, as arithmetic does.
  if ((op == "==" || op == "!=") && (a.is_null() || b.is_null()))
    return Value((a.is_null() && b.is_null()) == (op == "=="));
  int c = 0;
  if ((a.is_number() || a.is_null()) && (b.is_number() || b.is_null())) {
    const double x = num(a), y = num(b);
    c = x < y ? -1 : (x > y ? 1 : 0);
  } else if (a.is_string() && b.is_string()) {
    c = a.as_string().compare(b.as_string());
    c = c < 0 ? -1 : (c > 0 ? 1 : 0);
  } else if (op == "==" || op == "!=") {
    return Value((a == b) == (op == "=="));
  } else {
    type_error("cannot order " + std::string(value_type_name(a.type())) + " and " +
               value_type_name(b.type()));
  }
  if (op == "==") return Value(c == 0);
  if (op == "!=") return Value(c != 0);
  if (op == "<") return Value(c < 0);
  if (op == "<=") return Value(c <= 0);
  if (op == ">") return Value(c > 0);
  return Value(c >= 0);
}

Value negate(const Value& a) {
  if (a.is_int())
    return Value(static_cast<std::int64_t>(0 - static_cast<std::uint64_t>(a.as_int())));
  if (a.is_tensor()) return elementwise('*', a, Value(-1.0));
  return Value(-num(a));
}

Value slice(const Value& v, std::int64_t start, std::optional<std::int64_t> end) {
  const Tensor t = as_tensor(v);
  if (t.rank() != 1) type_error("slice takes a vector");
  const auto n = static_cast<std::int64_t>(t.size());
  auto clamp = [n](std::int64_t i) { return std::clamp(i < 0 ? n + i : i, std::int64_t{0}, n); };
  const std::int64_t b = clamp(start), e = std::max(b, end ? clamp(*end) : n);
  return Tensor::vector(
      t.data().subspan(static_cast<std::size_t>(b), static_cast<std::size_t>(e - b)));
}

Value window_avg(const Value& v, std::int64_t n) {
  if (n <= 0) type_error("window_avg needs a positive window");
  const Tensor t = as_tensor(slice(v, -n, std::nullopt));
  if (t.size() == 0) return Value(0.0);
  double s = 0;
  for (double x : t.data()) s += x;
  return Value(s / static_cast<double>(t.size()));
}

Value dot(const Value& a, const Value& b) {
  const Tensor x = as_tensor(a), y = as_tensor(b);
  if (x.size() != y.size()) type_error("dot of tensors of different sizes");
  double s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += x.data()[i] * y.data()[i];
  return Value(s);
}

Value matmul(const Value& a, const Value& b) {
  const Tensor x = matrix_of(a, "matmul"), y = matrix_of(b, "matmul");
  if (x.as_matrix().cols() != y.as_matrix().rows()) type_error("matmul: inner dimensions differ");
  check_elements(static_cast<std::size_t>(x.as_matrix().rows()),
                 static_cast<std::size_t>(y.as_matrix().cols()), "matmul");
  return Tensor::matrix(x.as_matrix() * y.as_matrix());
}

Value transpose(const Value& a) {
  const Tensor x = matrix_of(a, "transpose");
  return Tensor::matrix(x.as_matrix().transpose());
}

Value reshape(const Value& a, const std::vector<std::int64_t>& dims) {
  const Tensor x = as_tensor(a);
  std::vector<std::size_t> shape;
  for (std::int64_t d : dims) {
    if (d < 0) type_error("reshape: negative dimension");
    shape.push_back(static_cast<std::size_t>(d));
  }
  return make_tensor(shape, x.data());
}

Value reduce_sum(const Value& a) {
  double s = 0;
  for (double x : as_tensor(a).data()) s += x;
  return Value(s);
}

Value reduce_min(const Value& a) {
  const Tensor t = as_tensor(a);
  if (t.size() == 0) return Value(0.0);
  return Value(*std::min_element(t.data().begin(), t.data().end()));
}

Value reduce_max(const Value& a) {
  const Tensor t = as_tensor(a);
  if (t.size() == 0) return Value(0.0);
  return Value(*std::max_element(t.data().begin(), t.data().end()));
}

Value mean(const Value& a, std::int64_t axis) {
  const Tensor t = as_tensor(a);
  if (axis < 0) {
    if (t.size() == 0) return Value(0.0);
    return Value(reduce_sum(a).as_double() / static_cast<double>(t.size()));
  }
  const Tensor m = matrix_of(a, "mean");
  if (axis > 1) type_error("mean: axis must be 0 or 1");
  const auto mat = m.as_matrix();
  // Eigen's mean of an empty row or column reads an element that is not there; the mean
  // of nothing is 0, as for empty aggregates.
  if (mat.size() == 0) {
    return Tensor::vector(
        std::vector<double>(static_cast<std::size_t>(axis == 0 ? mat.cols() : mat.rows()), 0.0));
  }
  Eigen::VectorXd r = axis == 0 ? Eigen::VectorXd(mat.colwise().mean().transpose())
                                : Eigen::VectorXd(mat.rowwise().mean());
  return Tensor::vector({r.data(), static_cast<std::size_t>(r.size())});
}

Value stddev(const Value& a, std::int64_t axis) {
  const Tensor t = as_tensor(a);
  if (axis < 0) {
    if (t.size() == 0) return Value(0.0);
    const double m = mean(a, -1).as_double();
    double s = 0;
    for (double x : t.data()) s += (x - m) * (x - m);
    return Value(std::sqrt(s / static_cast<double>(t.size())));
  }
  if (axis > 1) type_error("std: axis must be 0 or 1");
  Eigen::MatrixXd mat = matrix_of(a, "std").as_matrix();
  if (axis == 1) mat.transposeInPlace();
  Eigen::VectorXd r = Eigen::VectorXd::Zero(mat.cols());
  if (mat.rows() == 0) return Tensor::vector({r.data(), static_cast<std::size_t>(r.size())});
  for (Eigen::Index c = 0; c < mat.cols(); ++c) {
    const double m = mat.col(c).mean();
    r[c] = std::sqrt((mat.col(c).array() - m).square().mean());
  }
  return Tensor::vector({r.data(), static_cast<std::size_t>(r.size())});
}

Value correlate(const Value& a) {
  const Tensor t = as_tensor(a);
  if (t.rank() != 2) type_error("correlate takes a matrix (rows are observations)");
  check_elements(t.dim(1), t.dim(1), "correlate");
  Eigen::MatrixXd m = t.as_matrix();
  // Without rows every correlation is undefined (NaN below); Eigen's mean of an empty
  // column would read an element that is not there.
  if (m.rows() > 0) {
    const Eigen::RowVectorXd mu = m.colwise().mean();
    m.rowwise() -= mu;
  }
  const Eigen::MatrixXd cov = m.transpose() * m;
  Eigen::MatrixXd r(cov.rows(), cov.cols());
  for (Eigen::Index i = 0; i < cov.rows(); ++i) {
    for (Eigen::Index j = 0; j < cov.cols(); ++j) {
      const double d = std::sqrt(cov(i, i) * cov(j, j));
      // A constant column has no defined correlation; NaN says so (NaN equals NaN in Value).
      r(i, j) = d > 0 ? cov(i, j) / d : std::nan("");
    }
  }
  return Tensor::matrix(r);
}

Value list(const std::vector<Value>& items) {
  if (items.empty()) return Tensor::vector({});
  if (!items[0].is_tensor()) {
    std::vector<double> v;
    for (const Value& x : items) v.push_back(num(x));
    return Tensor::vector(v);
  }
  // Nested lists stack equally shaped tensors along a new first axis.
  const Tensor first = items[0].as_tensor();
  // Checked before copying: nested literals multiply sizes, and the copy would grow past
  // what Tensor::make then refuses.
  check_elements(items.size(), first.size(), "tensor literal");
  std::vector<std::size_t> shape{items.size()};
  shape.insert(shape.end(), first.shape().begin(), first.shape().end());
  std::vector<double> data;
  for (const Value& x : items) {
    const Tensor t = as_tensor(x);
    if (!std::equal(t.shape().begin(), t.shape().end(), first.shape().begin(),
                    first.shape().end())) {
      type_error("rows of a tensor literal differ in shape");
    }
    data.insert(data.end(), t.data().begin(), t.data().end());
  }
  return make_tensor(shape, data);
}

}  // namespace mgraph::schema::ops
