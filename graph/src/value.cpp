#include "mgraph/graph/value.hpp"

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <new>

#include "mgraph/graph/json.hpp"

namespace mgraph {
namespace detail {

// Heap blocks are allocated with room for their payload after the header.
// The count is atomic: values are copied into messages handed to other threads.
struct StringRep {
  std::atomic<std::uint32_t> refs;
  std::uint32_t size;
  char* chars() { return reinterpret_cast<char*>(this + 1); }
};

struct TensorRep {
  std::atomic<std::uint32_t> refs;
  std::uint32_t rank;
  std::size_t shape[Tensor::rank_max];
  std::size_t size;
  double* data() { return reinterpret_cast<double*>(this + 1); }
};

static_assert(sizeof(TensorRep) % alignof(double) == 0);

namespace {
TensorRep* new_tensor_rep(std::span<const std::size_t> shape, std::size_t size) {
  void* mem = ::operator new(sizeof(TensorRep) + size * sizeof(double));
  auto* rep = new (mem) TensorRep;
  rep->refs.store(1, std::memory_order_relaxed);
  rep->rank = static_cast<std::uint32_t>(shape.size());
  for (std::size_t i = 0; i < Tensor::rank_max; ++i) rep->shape[i] = i < shape.size() ? shape[i] : 1;
  rep->size = size;
  return rep;
}
void release_tensor_rep(TensorRep* rep) {
  if (rep->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    rep->~TensorRep();
    ::operator delete(rep);
  }
}
}  // namespace
}  // namespace detail

const char* status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::invalid_argument: return "invalid argument";
    case StatusCode::not_found: return "not found";
    case StatusCode::cycle: return "cycle";
    case StatusCode::rejected: return "rejected";
    case StatusCode::failed_precondition: return "failed precondition";
    case StatusCode::formula_error: return "formula error";
    case StatusCode::out_of_range: return "out of range";
    case StatusCode::io_error: return "I/O error";
    case StatusCode::corruption: return "corruption";
    case StatusCode::internal: return "internal error";
    case StatusCode::unauthenticated: return "unauthenticated";
    case StatusCode::permission_denied: return "permission denied";
  }
  return "unknown";
}

Status errno_status(int error, const std::string& what) {
  return Status(error == ENOENT ? StatusCode::not_found : StatusCode::io_error, what + ": " + std::strerror(error));
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(status_code_name(code_)) + ": " + message_;
}

const char* value_type_name(ValueType type) {
  switch (type) {
    case ValueType::null: return "null";
    case ValueType::boolean: return "bool";
    case ValueType::int64: return "int64";
    case ValueType::float64: return "double";
    case ValueType::string: return "string";
    case ValueType::tensor: return "tensor";
  }
  return "unknown";
}

// ---- Tensor ----

Result<Tensor> Tensor::make(std::span<const std::size_t> shape, std::span<const double> data) {
  if (shape.size() > rank_max) {
    return Status(StatusCode::invalid_argument,
                  "tensor rank " + std::to_string(shape.size()) + " exceeds rank_max " +
                      std::to_string(rank_max));
  }
  std::size_t size = 1;
  for (std::size_t d : shape) {
    if (d != 0 && size > elements_max / d) {
      return Status(StatusCode::out_of_range, "tensor has more than elements_max elements");
    }
    size *= d;
  }
  if (size != data.size()) {
    return Status(StatusCode::invalid_argument, "tensor shape holds " + std::to_string(size) +
                                                    " elements but " +
                                                    std::to_string(data.size()) + " were given");
  }
  detail::TensorRep* rep = detail::new_tensor_rep(shape, size);
  if (size != 0) std::memcpy(rep->data(), data.data(), size * sizeof(double));
  return Tensor(rep);
}

Result<Tensor> Tensor::make(std::initializer_list<std::size_t> shape,
                            std::initializer_list<double> data) {
  return make(std::span<const std::size_t>(shape.begin(), shape.size()),
              std::span<const double>(data.begin(), data.size()));
}

Tensor Tensor::scalar(double x) { return std::move(make({}, {x}).value()); }

Tensor Tensor::vector(std::span<const double> data) {
  const std::size_t shape[1] = {data.size()};
  return std::move(make(shape, data).value());
}

Tensor Tensor::matrix(const Eigen::Ref<const Eigen::MatrixXd>& m) {
  const std::size_t shape[2] = {static_cast<std::size_t>(m.rows()),
                                static_cast<std::size_t>(m.cols())};
  detail::TensorRep* rep = detail::new_tensor_rep(shape, shape[0] * shape[1]);
  Eigen::Map<RowMajorMatrix>(rep->data(), m.rows(), m.cols()) = m;
  return Tensor(rep);
}

Tensor::Tensor(const Tensor& other) noexcept : rep_(other.rep_) {
  rep_->refs.fetch_add(1, std::memory_order_relaxed);
}
Tensor::Tensor(Tensor&& other) noexcept : rep_(other.rep_) {
  other.rep_->refs.fetch_add(1, std::memory_order_relaxed);  // moved-from stays valid
}
Tensor& Tensor::operator=(const Tensor& other) noexcept {
  other.rep_->refs.fetch_add(1, std::memory_order_relaxed);
  detail::release_tensor_rep(rep_);
  rep_ = other.rep_;
  return *this;
}
Tensor& Tensor::operator=(Tensor&& other) noexcept { return *this = other; }
Tensor::~Tensor() { detail::release_tensor_rep(rep_); }

std::size_t Tensor::rank() const { return rep_->rank; }
std::size_t Tensor::dim(std::size_t axis) const {
  MG_ASSERT(axis < rep_->rank);
  return rep_->shape[axis];
}
std::span<const std::size_t> Tensor::shape() const { return {rep_->shape, rep_->rank}; }
std::size_t Tensor::size() const { return rep_->size; }
std::span<const double> Tensor::data() const { return {rep_->data(), rep_->size}; }

Eigen::Map<const Tensor::RowMajorMatrix> Tensor::as_matrix() const {
  MG_ASSERT(rep_->rank <= 2);
  const Eigen::Index rows = rep_->rank == 2 ? static_cast<Eigen::Index>(rep_->shape[0]) : 1;
  const Eigen::Index cols = rep_->rank == 0   ? 1
                            : rep_->rank == 1 ? static_cast<Eigen::Index>(rep_->shape[0])
                                              : static_cast<Eigen::Index>(rep_->shape[1]);
  return Eigen::Map<const RowMajorMatrix>(rep_->data(), rows, cols);
}

bool operator==(const Tensor& a, const Tensor& b) {
  if (a.rep_ == b.rep_) return true;
  if (a.rep_->rank != b.rep_->rank) return false;
  for (std::size_t i = 0; i < a.rep_->rank; ++i) {
    if (a.rep_->shape[i] != b.rep_->shape[i]) return false;
  }
  const double* x = a.rep_->data();
  const double* y = b.rep_->data();
  for (std::size_t i = 0; i < a.rep_->size; ++i) {
    if (!(x[i] == y[i] || (std::isnan(x[i]) && std::isnan(y[i])))) return false;
  }
  return true;
}

// ---- Value ----

Value::Value(std::string_view s) : type_(ValueType::string) {
  MG_ASSERT(s.size() <= UINT32_MAX);
  void* mem = ::operator new(sizeof(detail::StringRep) + s.size());
  s_ = new (mem) detail::StringRep;
  s_->refs.store(1, std::memory_order_relaxed);
  s_->size = static_cast<std::uint32_t>(s.size());
  if (!s.empty()) std::memcpy(s_->chars(), s.data(), s.size());
}

Value::Value(const Tensor& t) noexcept : type_(ValueType::tensor) {
  t_ = t.rep_;
  t_->refs.fetch_add(1, std::memory_order_relaxed);
}

void Value::retain_heap() const noexcept {
  if (type_ == ValueType::string) {
    s_->refs.fetch_add(1, std::memory_order_relaxed);
  } else {
    t_->refs.fetch_add(1, std::memory_order_relaxed);
  }
}

void Value::release_heap() noexcept {
  if (type_ == ValueType::string) {
    if (s_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      s_->~StringRep();
      ::operator delete(s_);
    }
  } else {
    detail::release_tensor_rep(t_);
  }
}

std::string_view Value::as_string() const {
  MG_ASSERT(is_string());
  return {s_->chars(), s_->size};
}

Tensor Value::as_tensor() const {
  MG_ASSERT(is_tensor());
  t_->refs.fetch_add(1, std::memory_order_relaxed);
  return Tensor(t_);
}

bool Value::heap_equal(const Value& a, const Value& b) {
  if (a.type_ == ValueType::string) return a.as_string() == b.as_string();
  return a.as_tensor() == b.as_tensor();
}

std::string Value::to_json() const {
  switch (type_) {
    case ValueType::null: return "null";
    case ValueType::boolean: return b_ ? "true" : "false";
    case ValueType::int64: return std::to_string(i_);
    case ValueType::float64: return json::number(d_);
    case ValueType::string: return json::quote(as_string());
    case ValueType::tensor: {
      Tensor t = as_tensor();
      std::string out = "{\"shape\":[";
      for (std::size_t i = 0; i < t.rank(); ++i) {
        if (i != 0) out += ',';
        out += std::to_string(t.dim(i));
      }
      out += "],\"data\":[";
      const auto d = t.data();
      for (std::size_t i = 0; i < d.size(); ++i) {
        if (i != 0) out += ',';
        out += json::number(d[i]);
      }
      return out + "]}";
    }
  }
  return "null";
}

}  // namespace mgraph
