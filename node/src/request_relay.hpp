#pragma once
// The gateway's requests to the coordinator's actors (the sequencer, its watch actor) go
// out from one long-lived actor, not from an actor spawned per request. A request from an
// actor another node has not seen makes that node build a proxy for it (and tell this
// node, which later tells it that the actor is gone): with an actor per request, every
// client transaction paid those extra messages between the nodes and a proxy's allocation
// and registration on the coordinator. One relay is one proxy, made once.
//
// The relay also keeps what each short-lived actor did: it monitors every actor it sends
// to, so a request whose target stops before answering (the coordinator lost, or a node
// registering again starts a new sequencer) is answered at once with the stop's reason,
// not after the timeout; and a relay stopped with requests outstanding (the node stopping)
// answers each of them, so no caller waits forever.
//
// The relay is a broker (middleman().spawn_broker): CAF runs it on the node's I/O thread,
// which writes its requests to the coordinator and reads the answers, so neither waits
// for a hand-over to a scheduler thread (a write through a node other than the
// coordinator's ~0.04 ms sooner at p50 on 3 loopback nodes; docs/PERFORMANCE.md). `done`
// should be short: it runs there too.
//
// Thread-safety: request() may be called from any thread; `done` runs on the I/O thread,
// exactly once per request.

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mgraph::node {

/// The types of the answer a relayed request expects (CAF matches a response by them).
enum class RelayAnswer : std::uint8_t {
  text,          ///< std::string
  texts,         ///< std::vector<std::string>
  watch_poll,    ///< bool, std::uint64_t, std::vector<std::string>, std::uint64_t
  watch_values,  ///< std::uint64_t, std::string, std::string, std::uint64_t
  actor,         ///< caf::actor
};

/// How a relayed request ended.
struct RelayOutcome {
  enum class Kind : std::uint8_t {
    answered,  ///< `answer` holds the response's elements
    failed,    ///< an error came instead (a refusal, the timeout): `error`, `reason`
    stopped,   ///< the target stopped before answering, or the relay did: `reason`
  };
  Kind kind = Kind::failed;
  caf::message answer;
  caf::error error;
  std::string reason;  ///< the error, or the stop's reason, as the actor system renders it
};

using RelayDone = std::function<void(RelayOutcome)>;

class RequestRelay {
 public:
  RequestRelay(caf::actor_system& sys, std::chrono::milliseconds timeout);
  /// Stops the relay; what is still outstanding is answered as stopped.
  ~RequestRelay();
  RequestRelay(const RequestRelay&) = delete;
  RequestRelay& operator=(const RequestRelay&) = delete;

  /// Sends `message` to `to` as a request expecting `answer`; `done` gets the outcome.
  void request(caf::actor to, caf::message message, RelayAnswer answer, RelayDone done);

  /// The callbacks of requests not answered yet, by token: filled by request(), emptied by
  /// the relay's actor as answers come.
  struct Waiting {
    std::mutex mutex;
    std::unordered_map<std::uint64_t, RelayDone> done;
    std::uint64_t next = 0;
    /// Takes the callback of `token` (empty if answered already).
    RelayDone take(std::uint64_t token);
  };

 private:
  std::shared_ptr<Waiting> waiting_ = std::make_shared<Waiting>();
  caf::actor actor_;
};

}  // namespace mgraph::node
