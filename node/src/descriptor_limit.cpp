#include "descriptor_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace mgraph::node {

Result<DescriptorLimit> ensure_descriptors(std::uint64_t needed, const std::string& why) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Status(StatusCode::io_error, why + ": cannot read the descriptor limit (RLIMIT_NOFILE): " +
                                            std::strerror(errno));
  }
  // RLIM_INFINITY is the largest rlim_t: it compares as "enough" below.
  const DescriptorLimit unchanged{static_cast<std::uint64_t>(limit.rlim_cur),
                                  static_cast<std::uint64_t>(limit.rlim_cur)};
  if (limit.rlim_cur >= needed) return unchanged;
  if (limit.rlim_max < needed) {
    return Status(StatusCode::out_of_range,
                  why + " needs " + std::to_string(needed) + " file descriptors; this process may open " +
                      std::to_string(limit.rlim_max) +
                      " at most (the hard RLIMIT_NOFILE): raise it (ulimit -Hn as root, LimitNOFILE= "
                      "in a systemd unit) or ask for fewer");
  }
  const rlim_t soft_before = limit.rlim_cur;
  limit.rlim_cur = static_cast<rlim_t>(needed);
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return Status(StatusCode::io_error, why + ": cannot raise the descriptor limit from " +
                                            std::to_string(soft_before) + " to " + std::to_string(needed) +
                                            ": " + std::strerror(errno));
  }
  return DescriptorLimit{static_cast<std::uint64_t>(soft_before), needed};
}

}  // namespace mgraph::node
