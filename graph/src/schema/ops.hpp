#pragma once
// Runtime operations of compiled formulas on Values: arithmetic with int/float
// promotion, string concatenation, elementwise tensor math with scalar broadcast, and
// the tensor functions. A type error that the checker could not rule out throws
// FormulaError, which the engine turns into StatusCode::formula_error and a rollback.

#include <optional>
#include <stdexcept>
#include <string>

#include "mgraph/graph/value.hpp"

namespace mgraph::schema::ops {

struct FormulaError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Bytes of a string a formula may produce. Longer results are a FormulaError: a few
/// fields that each double a string (b = a + a, c = b + b, ...) would otherwise exhaust
/// memory with a schema of a few hundred bytes.
inline constexpr std::size_t kStringBytesMax = std::size_t{1} << 20;

/// NaN or an infinity where a float field's value should be: throws the FormulaError that
/// fails field `where` (docs/SCHEMA.md "Failed fields"), for the Store's formulas and the
/// scalar kernels alike.
[[noreturn, gnu::cold]] void not_finite(double x, const std::string& where);

Value arith(char op, const Value& a, const Value& b);  ///< + - * / %
Value compare(std::string_view op, const Value& a, const Value& b);
Value negate(const Value& a);
bool truthy(const Value& v);  ///< REQUIRES a bool (null counts as false)
double num(const Value& v);   ///< a number (bool as 0/1, null as 0)
/// An int argument (null as 0). The checker types arguments, but null still arrives at
/// run time from `if c then null else 1` and from unlinked relations.
std::int64_t integer(const Value& v);
/// A string argument (null as ""); the view lives as long as `v`.
std::string_view text(const Value& v);
/// A formula's string result; one longer than kStringBytesMax throws FormulaError.
Value text_value(std::string s);
/// a + b and a - b with two's-complement wrap-around, as int arithmetic in formulas does:
/// a signed overflow is undefined behaviour, and sums of ints may overflow.
std::int64_t add_wrapping(std::int64_t a, std::int64_t b);
std::int64_t sub_wrapping(std::int64_t a, std::int64_t b);
/// `x` as an int64, saturated at the ends of the range (NaN as 0): a plain cast of a
/// double outside the range is undefined behaviour.
std::int64_t saturating_int(double x);

Tensor as_tensor(const Value& v);
Value slice(const Value& v, std::int64_t start, std::optional<std::int64_t> end);
Value window_avg(const Value& v, std::int64_t n);
Value dot(const Value& a, const Value& b);
Value matmul(const Value& a, const Value& b);
Value transpose(const Value& a);
Value reshape(const Value& a, const std::vector<std::int64_t>& dims);
/// Over all elements (axis < 0) or along an axis of a matrix (0: per column, 1: per row).
Value mean(const Value& a, std::int64_t axis);
Value stddev(const Value& a, std::int64_t axis);  ///< population standard deviation
Value reduce_sum(const Value& a);
Value reduce_min(const Value& a);
Value reduce_max(const Value& a);
/// Pearson correlation matrix of the columns of a matrix (rows are observations).
Value correlate(const Value& a);
Value list(const std::vector<Value>& items);  ///< [1, 2] or [[1, 2], [3, 4]]

}  // namespace mgraph::schema::ops
