#include "rpc/rpc_status.hpp"

#include <string_view>

namespace mgraph::codec::rpc {
namespace {

/// What the RPC system puts before the description of an exception thrown by the peer.
constexpr std::string_view kRemotePrefix = "remote exception: ";
constexpr auto kFirstErrorCode = static_cast<unsigned>(StatusCode::invalid_argument);
constexpr auto kLastErrorCode = static_cast<unsigned>(StatusCode::permission_denied);

}  // namespace

kj::Exception to_exception(const Status& status) {
  return kj::Exception(kj::Exception::Type::FAILED, __FILE__, __LINE__,
                       kj::heapString(status.to_string().c_str()));
}

Status from_exception(const kj::Exception& e, const std::string& what) {
  std::string_view text(e.getDescription().cStr(), e.getDescription().size());
  if (e.getType() == kj::Exception::Type::DISCONNECTED) {
    return Status(StatusCode::io_error, what + ": connection lost: " + std::string(text));
  }
  if (text.starts_with(kRemotePrefix)) text.remove_prefix(kRemotePrefix.size());
  for (unsigned c = kFirstErrorCode; c <= kLastErrorCode; ++c) {
    const std::string name = std::string(status_code_name(static_cast<StatusCode>(c))) + ": ";
    if (text.starts_with(name)) {
      return Status(static_cast<StatusCode>(c), std::string(text.substr(name.size())));
    }
  }
  return Status(StatusCode::io_error, what + ": " + std::string(text));
}

}  // namespace mgraph::codec::rpc
