#pragma once
// Errors as values: Status for operations without a result, Result<T> for those with one.

#include <string>
#include <utility>
#include <variant>

#include "mgraph/graph/assert.hpp"

namespace mgraph {

/// What went wrong, coarse enough for a caller to branch on.
enum class StatusCode : unsigned char {
  ok = 0,
  invalid_argument,     ///< the caller passed something malformed (wrong node kind, bad shape)
  not_found,            ///< a named node, field or revision does not exist
  cycle,                ///< an edge or a dynamic read would close an immediate cycle
  rejected,             ///< a formula rejected the transaction (proposed value refused)
  failed_precondition,  ///< the call is not valid in the current state (e.g. transaction open)
  formula_error,        ///< a formula threw or returned a value of the wrong type
  out_of_range,         ///< a bound (`*_max`) would be exceeded
  io_error,             ///< storage or network failure
  corruption,           ///< stored or received bytes are not what they claim to be
  internal,             ///< a bug in mgraph
  // Appended after internal: codes travel as numbers (codec/), so existing ones keep theirs.
  unauthenticated,    ///< a client presented no token, or one the node does not accept
  permission_denied,  ///< the client's role may not do what it asked
};

/// Name of a status code, for messages ("cycle", "rejected", ...).
const char* status_code_name(StatusCode code);

/// The outcome of an operation: ok, or a code with a message saying what, where and why.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::ok; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "code: message", or "ok".
  std::string to_string() const;
  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::ok;
  std::string message_;
};

/// A failed system call's Status: "what: strerror(error)", not_found for ENOENT, else
/// io_error.
Status errno_status(int error, const std::string& what);

/// A value of type T, or the Status saying why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    MG_ASSERT_MSG(!std::get<Status>(v_).is_ok(), "Result built from an ok Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  /// REQUIRES: is_ok().
  T& value() & {
    MG_ASSERT_MSG(is_ok(), status_message().c_str());
    return std::get<T>(v_);
  }
  const T& value() const& {
    MG_ASSERT_MSG(is_ok(), status_message().c_str());
    return std::get<T>(v_);
  }
  T&& value() && {
    MG_ASSERT_MSG(is_ok(), status_message().c_str());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// The error; Status::ok() when a value is held.
  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::string status_message() const {
    return is_ok() ? std::string() : std::get<Status>(v_).to_string();
  }
  std::variant<T, Status> v_;
};

}  // namespace mgraph
