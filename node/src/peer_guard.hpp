#pragma once
// The peer guard: a node's public peer port. CAF 0.17's BASP reads a frame's 32-byte header
// and then allocates (and zero-fills) the payload length the header claims — up to 4 GiB —
// before a single payload byte arrives, and BASP has no option to bound it. So CAF listens
// on 127.0.0.1 only, at a port the OS chooses, and the guard listens on the node's public
// address: it relays each accepted connection to CAF, follows the BASP frames flowing
// towards CAF, and closes the connection (both sides) before CAF sees a header that claims
// more than frame_bytes_max, or when a frame (or a new connection's first frame) takes
// longer than frame_time_max. One thread with poll(), a bounded number of connections,
// fixed buffers allocated at start: no allocation per connection or per frame.
//
// With TLS (options.tls) the guard also terminates TLS on the peer side with OpenSSL
// (peer_tls.hpp): it decrypts what the peer sends, follows the frames in the plaintext as
// above, and encrypts what CAF answers. A node that does not coordinate runs a second
// guard the other way round (options.dial_port): it listens on 127.0.0.1 for its own CAF's
// connection to the coordinator, dials the coordinator's guard with TLS, and checks the
// frames coming back. So every link between nodes is TLS with both certificates checked,
// and every frame towards CAF is bounded, whichever side opened the link.
//
// BASP frame (caf/io/basp/header.hpp), big-endian: operation u8, padding u8, padding u8,
// flags u8, payload_len u32, operation_data u64, source_actor u64, dest_actor u64; then
// payload_len bytes of payload.

#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "peer_tls.hpp"

namespace mgraph::node {

/// Bytes of a BASP header.
inline constexpr std::size_t basp_header_bytes = 32;

/// Follows the frame boundaries of a BASP byte stream without keeping any payload.
class BaspFrameReader {
 public:
  explicit BaspFrameReader(std::uint32_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}

  /// Consumes `size` bytes of the stream; false (and the reader stays failed) as soon as a
  /// header claims a payload larger than frame_bytes_max.
  bool feed(const char* data, std::size_t size);
  /// True between frames: no header or payload bytes are pending.
  bool at_boundary() const { return header_got_ == 0 && payload_left_ == 0; }
  /// Headers read completely so far.
  std::uint64_t frames() const { return frames_; }
  /// The payload length claimed by the last complete header.
  std::uint32_t last_claim() const { return last_claim_; }

 private:
  std::uint32_t frame_bytes_max_;
  unsigned char header_[basp_header_bytes] = {};
  std::size_t header_got_ = 0;
  std::uint64_t payload_left_ = 0;
  std::uint64_t frames_ = 0;
  std::uint32_t last_claim_ = 0;
  bool failed_ = false;
};

/// What a report says of a header claiming `claim` bytes, over `max`.
std::string oversized_frame_text(std::uint32_t claim, std::uint32_t max);
/// What a report says of a frame that took longer than `max`.
std::string slow_frame_text(std::chrono::milliseconds max);

struct PeerGuardOptions {
  std::string host = "127.0.0.1";  ///< the public address (a name or a literal)
  std::uint16_t port = 0;          ///< the public port; 0: the OS chooses
  std::uint16_t inner_port = 0;    ///< where CAF listens on 127.0.0.1
  std::uint32_t frame_bytes_max = 4u << 20;
  /// Longest time a frame may take from its first byte to its last, and a new connection
  /// to its first complete frame (a peer answers the server handshake at once).
  std::chrono::milliseconds frame_time_max{10'000};
  /// Connections relayed at once; further ones are accepted and closed at once.
  std::size_t connections_max = 32;
  /// Called on the guard's thread for every connection it closes for a violation.
  std::function<void(const std::string& what)> report;
  /// TLS on the peer side (mutual, against the cluster's CA); null: plain bytes.
  std::shared_ptr<const TlsContext> tls;
  /// Outbound: each connection accepted on host:port (CAF's, on 127.0.0.1) is relayed to
  /// dial_host:dial_port, the peer `dial_name` (the name its certificate must carry).
  /// 0: inbound, relaying to CAF at inner_port.
  std::uint16_t dial_port = 0;
  std::string dial_host;
  std::string dial_name;
};

/// What the guard has done so far (each counter is read atomically).
struct PeerGuardCounts {
  std::uint64_t accepted = 0;     ///< connections relayed
  std::uint64_t oversized = 0;    ///< closed: a header claimed more than frame_bytes_max
  std::uint64_t too_slow = 0;     ///< closed: a frame took longer than frame_time_max
  std::uint64_t turned_away = 0;  ///< closed at once: connections_max were open
  std::uint64_t tls_refused = 0;  ///< closed: the TLS handshake (or a TLS record) failed
};

class PeerGuard {
 public:
  /// Listens on options.host:options.port and relays to 127.0.0.1:options.inner_port.
  static Result<std::unique_ptr<PeerGuard>> start(PeerGuardOptions options);
  /// Stops the thread and closes every connection.
  ~PeerGuard();
  PeerGuard(const PeerGuard&) = delete;
  PeerGuard& operator=(const PeerGuard&) = delete;

  /// The public port.
  std::uint16_t port() const { return port_; }
  PeerGuardCounts counts() const;

  struct Slot;

 private:
  PeerGuard(PeerGuardOptions options, int listener, int wake_read, int wake_write,
            std::uint16_t port, std::vector<char> dial_address);
  void serve();
  bool step();
  void accept_one();
  void close_slot(Slot& slot);
  void violation(Slot& slot, std::atomic<std::uint64_t>& counter, const std::string& what);
  void handle(Slot& slot, short outer_events, short inner_events);
  /// Starts the connection that relays an accepted one; its fd, or -1.
  int dial();
  /// Reads from the peer into slot.up (through TLS when configured): bytes added. An
  /// unauthenticated Status is a TLS failure to report; io_error a socket error.
  Result<std::size_t> read_outer(Slot& slot, bool readable);
  /// Writes slot.down to the peer (through TLS when configured), advancing a handshake.
  Status write_outer(Slot& slot);
  /// Whether the peer side has something to send now.
  bool outer_output(const Slot& slot) const;

  PeerGuardOptions options_;
  int listener_;
  int wake_read_, wake_write_;
  std::uint16_t port_;
  std::vector<Slot> slots_;
  std::vector<pollfd> fds_;  ///< reserved at start: the wake pipe, the listener, two a slot
  std::vector<char> dial_address_;  ///< outbound: the peer's sockaddr, resolved at start
  std::atomic<std::uint64_t> accepted_{0}, oversized_{0}, too_slow_{0}, turned_away_{0},
      tls_refused_{0};
  std::thread thread_;
};

}  // namespace mgraph::node
