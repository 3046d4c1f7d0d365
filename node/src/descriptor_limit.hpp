#pragma once
// The file descriptors a process may open (RLIMIT_NOFILE). A node serves each client
// connection on a descriptor of its own ([cluster] client_connections_max), and a benchmark
// that opens a thousand connections needs one each too: both check the soft limit at start
// and raise it when it is too low, up to the hard limit, rather than failing later on an
// accept or a connect that runs out.

#include <cstdint>
#include <string>

#include "mgraph/graph/status.hpp"

namespace mgraph::node {

/// Descriptors a node holds besides its client connections: an idle node of the 3-node
/// loopback cluster holds 17 to 28 (its listeners, the log, LMDB, the event loops, the
/// peer guard's links); peers, the metrics endpoint and the admin socket add a few each.
inline constexpr std::uint64_t kNodeDescriptorsBesidesClients = 256;

/// The soft limit on descriptors before and after ensure_descriptors.
struct DescriptorLimit {
  std::uint64_t before = 0;
  std::uint64_t after = 0;
};

/// Makes sure this process may open `needed` descriptors: a soft RLIMIT_NOFILE below it is
/// raised to it (a process may raise its soft limit up to the hard one). Fails, changing
/// nothing, when the hard limit is below `needed`; the message starts with `why` (what
/// needs them) and says how to fix it.
Result<DescriptorLimit> ensure_descriptors(std::uint64_t needed, const std::string& why);

}  // namespace mgraph::node
