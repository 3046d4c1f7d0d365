// The server side of the client protocol: a kj event loop on a thread of its own accepts
// connections, runs a two-party RPC system on each and hands requests to the ClientHandler.
// Answers come back through cross-thread promise fulfillers, so the handler may call `done`
// on any thread; the reply is always sent from the event loop's thread.

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "mgraph/codec/client_rpc.hpp"
#include "mgraph/codec/watch_target.hpp"
#include "mgraph/codec/wire/client.capnp.h"
#include "rpc/rpc_status.hpp"
#include "session_wire.hpp"
#include "wire.hpp"

namespace mgraph::codec {
namespace {

using Answer = Result<session::BatchResult>;
using VatId = capnp::rpc::twoparty::VatId;

/// After a failed accept (out of file descriptors, say), wait this long before the next one
/// rather than spinning on the error.
constexpr auto kAcceptRetryDelay = 100 * kj::MILLISECONDS;

/// The first segment of an answer; it grows as needed. Given explicitly: the default (none)
/// trips g++ 12's maybe-uninitialized check in kj::Maybe under the sanitizers.
constexpr capnp::MessageSize kSizeHint{1024, 0};

using detail::text;

kj::Duration duration(std::chrono::milliseconds ms) { return ms.count() * kj::MILLISECONDS; }

/// Calls handed to the handler and not answered yet, of one connection or of the whole
/// server. Shared with `done`, which may outlive both: the count falls when the handler
/// answers (or drops `done`), not when the client stops waiting.
struct Held {
  std::atomic<std::size_t> calls{0};
};

/// What the calls of one connection share with the watch that closes it when idle; touched
/// on the event loop's thread only.
struct Activity {
  explicit Activity(kj::TimePoint now) : last(now) {}
  kj::TimePoint last;  ///< when a call last started or was answered
  std::shared_ptr<Held> held = std::make_shared<Held>();
};

/// The handler's answer to one call, on its way to the event loop. The answer travels beside
/// the promise, not in it: kj's storage of a non-trivial promise value trips g++ 12's
/// maybe-uninitialized check.
template <typename A = Answer>
struct Slot {
  std::mutex mutex;
  std::optional<A> answer;
};
/// The answer of the effect calls: deliveries, or an ack's outcome as one text.
using Texts = ClientHandler::Texts;

/// What every copy of one call's `done` shares. Giving stores the answer and wakes the loop
/// through a cross-thread fulfiller, which does nothing once the call is gone (cancelled when
/// its connection ended or the server stopped). Dropped unused, it rejects the call.
template <typename A = Answer>
class Reply {
 public:
  Reply(std::shared_ptr<Slot<A>> slot, kj::Own<kj::CrossThreadPromiseFulfiller<void>> ready,
        std::shared_ptr<Held> connection, std::shared_ptr<Held> server)
      : slot_(std::move(slot)), ready_(kj::mv(ready)), connection_(std::move(connection)),
        server_(std::move(server)) {
    ++connection_->calls;
    ++server_->calls;
  }
  ~Reply() { release(); }
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  /// Any thread; only the first call counts.
  void give(A answer) {
    std::lock_guard<std::mutex> lock(slot_->mutex);
    if (slot_->answer.has_value()) return;
    slot_->answer.emplace(std::move(answer));
    release();
    ready_->fulfill();
  }

 private:
  void release() {
    if (released_.exchange(true)) return;
    --connection_->calls;
    --server_->calls;
  }

  std::shared_ptr<Slot<A>> slot_;
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> ready_;
  std::shared_ptr<Held> connection_;
  std::shared_ptr<Held> server_;
  std::atomic<bool> released_{false};
};

/// A consumer of one group following some effects (Cluster.consumer): its calls are the
/// Cluster's pollEffects and ackEffects of the connection that made it, with its group and
/// effects, so they are admitted and answered as those are.
class ConsumerService final : public wire::Consumer::Server {
 public:
  ConsumerService(wire::Cluster::Client cluster, std::string group, std::vector<std::string> effects)
      : cluster_(kj::mv(cluster)), group_(std::move(group)), effects_(std::move(effects)) {}

  kj::Promise<void> poll(PollContext context) override {
    auto request = cluster_.pollEffectsRequest(kSizeHint);
    detail::put_texts(request.initEffects(static_cast<unsigned>(effects_.size())), effects_);
    request.setMax(context.getParams().getMax());
    request.setGroup(text(group_));
    return request.send().then([context](capnp::Response<wire::Cluster::PollEffectsResults>&& r) mutable {
      context.getResults(kSizeHint).setDeliveries(r.getDeliveries());
    });
  }
  kj::Promise<void> ack(AckContext context) override {
    auto request = cluster_.ackEffectsRequest(kSizeHint);
    request.setKeys(context.getParams().getKeys());
    return request.send().then([context](capnp::Response<wire::Cluster::AckEffectsResults>&& r) mutable {
      context.getResults(kSizeHint).setOutcomes(r.getOutcomes());
    });
  }

 private:
  wire::Cluster::Client cluster_;
  const std::string group_;
  const std::vector<std::string> effects_;
};

/// The Cluster interface as one connection sees it.
class ClusterService final : public wire::Cluster::Server {
 public:
  /// Acts with `role` (none: only login is served). REQUIRES: `canceler` outlives every call
  /// made through the service (the connection's).
  ClusterService(ClientHandler& handler, const ClientServerLimits& limits,
                 const ClientAccess& access, std::optional<session::Role> role,
                 kj::Timer& timer, std::shared_ptr<Activity> activity,
                 std::shared_ptr<Held> server_held, kj::Canceler& canceler)
      : handler_(handler), limits_(limits), access_(access), role_(role), timer_(timer),
        activity_(std::move(activity)), server_held_(std::move(server_held)),
        canceler_(canceler) {}

  kj::Promise<void> transact(TransactContext context) override;
  kj::Promise<void> schema(SchemaContext context) override;
  kj::Promise<void> login(LoginContext context) override;
  kj::Promise<void> pollEffects(PollEffectsContext context) override;
  kj::Promise<void> ackEffect(AckEffectContext context) override;
  kj::Promise<void> ackEffects(AckEffectsContext context) override;
  kj::Promise<void> resolveEffect(ResolveEffectContext context) override;
  kj::Promise<void> ledger(LedgerContext context) override;
  kj::Promise<void> watch(WatchContext context) override;
  kj::Promise<void> watchValues(WatchValuesContext context) override;
  kj::Promise<void> consumer(ConsumerContext context) override;

 private:
  /// The role calls act with; unauthenticated when the connection has not logged in.
  Result<session::Role> role() const;
  /// The role `token` gives, or why none (unauthenticated).
  Result<session::Role> check(capnp::Text::Reader token) const;
  /// The request's batch; an RPC error for content the session layer cannot take.
  static session::Batch decode(wire::Batch::Reader r);
  static void answer(TransactContext& context, Answer answer);
  template <typename A>
  static A take(Slot<A>& slot) {
    std::lock_guard<std::mutex> lock(slot.mutex);
    return std::move(*slot.answer);
  }
  /// Hands a call to the handler through `start` (which gets the `done` to call) and fills
  /// the results with `fill` once it answered, on the loop's thread.
  template <typename A = Texts, typename Context, typename Start, typename Fill>
  kj::Promise<void> handed(Context context, Start start, Fill fill);
  /// Why a new call may not be handed to the handler now; ok when it may.
  Status admit() const;
  /// Whether the connection may acknowledge effects now (its role, then admit()); marks
  /// the connection active.
  Status admit_ack();
  /// The role a call acts with, if it may be handed to the handler now (the connection acts
  /// with a role, then admit()); marks the connection active.
  Result<session::Role> admit_call();

  ClientHandler& handler_;
  const ClientServerLimits& limits_;
  const ClientAccess& access_;
  const std::optional<session::Role> role_;
  kj::Timer& timer_;
  std::shared_ptr<Activity> activity_;
  std::shared_ptr<Held> server_held_;
  kj::Canceler& canceler_;
};

session::Batch ClusterService::decode(wire::Batch::Reader r) {
  auto refuse = [](const std::string& why, StatusCode code = StatusCode::corruption) {
    return rpc::to_exception(Status(code, "operation batch: " + why));
  };
  session::Batch batch;
  try {
    batch = detail::get_batch(r);
  } catch (const detail::DecodeError& e) {
    throw refuse(e.what);
  } catch (const kj::Exception& e) {
    // The reader's bounds: the traversal limit is the request size limit, so running out of
    // it is a request too large; anything else is a malformed message.
    const std::string why = e.getDescription().cStr();
    const bool too_large = why.find("traversal limit") != std::string::npos;
    throw refuse(why, too_large ? StatusCode::out_of_range : StatusCode::corruption);
  }
  return batch;
}


void ClusterService::answer(TransactContext& context, Answer answer) {
  if (!answer.is_ok()) throw rpc::to_exception(answer.status());
  try {
    detail::put_batch_result(context.getResults(kSizeHint).initResult(), *answer);
  } catch (const detail::EncodeError& e) {
    throw rpc::to_exception(Status(StatusCode::out_of_range, "batch result: " + e.what));
  }
}

Status ClusterService::admit() const {
  if (activity_->held->calls.load() >= limits_.calls_in_flight_max) {
    return Status(StatusCode::out_of_range, "more than " +
                                                std::to_string(limits_.calls_in_flight_max) +
                                                " calls in flight on one connection");
  }
  // Calls whose connection has ended still count until the handler answers them, so
  // reconnecting does not let a client queue more work.
  const std::size_t server_max = limits_.connections_max * limits_.calls_in_flight_max;
  if (server_held_->calls.load() >= server_max) {
    return Status(StatusCode::out_of_range,
                  "more than " + std::to_string(server_max) + " calls in flight on the server");
  }
  return Status::ok();
}

Result<session::Role> ClusterService::role() const {
  if (role_) return *role_;
  return Status(StatusCode::unauthenticated, "this node requires a token: log in first");
}

Result<session::Role> ClusterService::check(capnp::Text::Reader token) const {
  if (token.size() == 0) return Status(StatusCode::unauthenticated, "the token is empty");
  if (token.size() > kTokenBytesMax) {
    return Status(StatusCode::unauthenticated,
                  "a token has at most " + std::to_string(kTokenBytesMax) + " bytes");
  }
  if (!access_.login) return Status(StatusCode::unauthenticated, "this node accepts no tokens");
  Result<session::Role> role = access_.login(std::string_view(token.cStr(), token.size()));
  if (!role.is_ok() && role.status().code() != StatusCode::unauthenticated) {
    return Status(StatusCode::unauthenticated, role.status().message());
  }
  return role;
}

kj::Promise<void> ClusterService::transact(TransactContext context) {
  const Result<session::Role> acting = admit_call();
  if (!acting.is_ok()) throw rpc::to_exception(acting.status());
  const auto params = context.getParams().getBatch();
  session::Batch batch = decode(params);
  const session::TxnId txn{params.getTxnClient(), params.getTxnSeq()};
  context.releaseParams();
  // Before the handler: a refused batch goes nowhere, so it changes nothing.
  if (Status s = session::permit(*acting, batch); !s.is_ok()) throw rpc::to_exception(s);
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  auto slot = std::make_shared<Slot<>>();
  auto reply = std::make_shared<Reply<>>(slot, kj::mv(paf.fulfiller), activity_->held,
                                       server_held_);
  handler_.transact(std::move(batch), txn, [reply](Answer a) { reply->give(std::move(a)); });
  reply.reset();  // the handler's copies of `done` are the only owners now
  auto answered = [context, slot, activity = activity_, &timer = timer_]() mutable {
    activity->last = timer.now();
    answer(context, take(*slot));
  };
  auto dropped = [](kj::Exception&&) {
    throw rpc::to_exception(
        Status(StatusCode::internal, "the server dropped the batch unanswered"));
  };
  // Wrapped, the call is cancelled (and `done` made a no-op) as soon as its connection ends,
  // whatever the RPC system still holds.
  return canceler_.wrap(paf.promise.then(kj::mv(answered), kj::mv(dropped)));
}

kj::Promise<void> ClusterService::schema(SchemaContext context) {
  activity_->last = timer_.now();
  if (const Result<session::Role> acting = role(); !acting.is_ok()) {
    throw rpc::to_exception(acting.status());
  }
  const SchemaInfo info = handler_.schema();
  auto results = context.getResults(kSizeHint);
  results.setName(text(info.name));
  results.setSource(text(info.source));
  results.setFingerprint(info.fingerprint);
  return kj::READY_NOW;
}

template <typename A, typename Context, typename Start, typename Fill>
kj::Promise<void> ClusterService::handed(Context context, Start start, Fill fill) {
  auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
  auto slot = std::make_shared<Slot<A>>();
  auto reply = std::make_shared<Reply<A>>(slot, kj::mv(paf.fulfiller), activity_->held,
                                          server_held_);
  start([reply](A a) { reply->give(std::move(a)); });
  reply.reset();
  auto answered = [context, slot, fill, activity = activity_, &timer = timer_]() mutable {
    activity->last = timer.now();
    A a = take(*slot);
    if (!a.is_ok()) throw rpc::to_exception(a.status());
    fill(context, *a);
  };
  auto dropped = [](kj::Exception&&) {
    throw rpc::to_exception(Status(StatusCode::internal, "the server dropped the call unanswered"));
  };
  return canceler_.wrap(paf.promise.then(kj::mv(answered), kj::mv(dropped)));
}

kj::Promise<void> ClusterService::pollEffects(PollEffectsContext context) {
  const Result<session::Role> acting = admit_call();
  if (!acting.is_ok()) throw rpc::to_exception(acting.status());
  const auto params = context.getParams();
  if (params.getEffects().size() > kPollEffectNamesMax) {
    throw rpc::to_exception(Status(StatusCode::out_of_range,
                                   "pollEffects: " + std::to_string(params.getEffects().size()) +
                                       " effect names; at most " +
                                       std::to_string(kPollEffectNamesMax)));
  }
  std::vector<std::string> effects = detail::get_texts(params.getEffects());
  const std::uint32_t max = params.getMax();
  std::string group = params.getGroup();
  if (Status s = check_consumer_group(group); !group.empty() && !s.is_ok()) throw rpc::to_exception(s);
  context.releaseParams();
  return handed(
      context,
      [&](std::function<void(Texts)> done) {
        handler_.poll_effects(std::move(group), std::move(effects), max, std::move(done));
      },
      [](PollEffectsContext& c, const std::vector<std::string>& deliveries) {
        auto list = c.getResults(kSizeHint).initDeliveries(static_cast<unsigned>(deliveries.size()));
        for (std::size_t i = 0; i < deliveries.size(); ++i) {
          list.set(static_cast<unsigned>(i), text(deliveries[i]));
        }
      });
}

kj::Promise<void> ClusterService::consumer(ConsumerContext context) {
  const Result<session::Role> acting = role();
  if (!acting.is_ok()) throw rpc::to_exception(acting.status());
  const auto params = context.getParams();
  const std::string group = params.getGroup();
  if (Status s = check_consumer_group(group); !s.is_ok()) throw rpc::to_exception(s);
  if (params.getEffects().size() == 0 || params.getEffects().size() > kPollEffectNamesMax) {
    throw rpc::to_exception(Status(StatusCode::out_of_range,
                                   "consumer: " + std::to_string(params.getEffects().size()) +
                                       " effect names; 1 to " + std::to_string(kPollEffectNamesMax)));
  }
  std::vector<std::string> effects = detail::get_texts(params.getEffects());
  context.getResults(kSizeHint).setConsumer(
      kj::heap<ConsumerService>(thisCap(), std::move(group), std::move(effects)));
  return kj::READY_NOW;
}

Result<session::Role> ClusterService::admit_call() {
  activity_->last = timer_.now();
  Result<session::Role> acting = role();
  if (!acting.is_ok()) return acting;
  if (Status s = admit(); !s.is_ok()) return s;
  return acting;
}

Status ClusterService::admit_ack() {
  activity_->last = timer_.now();
  const Result<session::Role> acting = role();
  if (!acting.is_ok()) return acting.status();
  // An ack changes the documents (it lowers the effect): a write.
  if (!session::may_apply(*acting, session::OpKind::ack)) {
    return Status(StatusCode::permission_denied, std::string{"role "} + session::role_name(*acting) +
                                                     " cannot acknowledge effects");
  }
  return admit();
}

kj::Promise<void> ClusterService::ackEffects(AckEffectsContext context) {
  if (Status s = admit_ack(); !s.is_ok()) throw rpc::to_exception(s);
  const auto params = context.getParams();
  if (params.getKeys().size() > kAckKeysMax) {
    throw rpc::to_exception(Status(StatusCode::out_of_range,
                                   "ackEffects: " + std::to_string(params.getKeys().size()) +
                                       " keys; at most " + std::to_string(kAckKeysMax)));
  }
  std::vector<std::string> keys = detail::get_texts(params.getKeys());
  context.releaseParams();
  return handed(
      context,
      [&](std::function<void(Texts)> done) { handler_.ack_effects(std::move(keys), std::move(done)); },
      [](AckEffectsContext& c, const std::vector<std::string>& outcomes) {
        auto list = c.getResults(kSizeHint).initOutcomes(static_cast<unsigned>(outcomes.size()));
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
          list.set(static_cast<unsigned>(i), text(outcomes[i]));
        }
      });
}

kj::Promise<void> ClusterService::ackEffect(AckEffectContext context) {
  if (Status s = admit_ack(); !s.is_ok()) throw rpc::to_exception(s);
  const std::uint64_t field = context.getParams().getField();
  const std::uint64_t version = context.getParams().getVersion();
  context.releaseParams();
  return handed(
      context,
      [&](std::function<void(Texts)> done) { handler_.ack_effect(field, version, std::move(done)); },
      [](AckEffectContext& c, const std::vector<std::string>& outcome) {
        c.getResults(kSizeHint).setOutcome(text(outcome.empty() ? std::string() : outcome[0]));
      });
}

kj::Promise<void> ClusterService::resolveEffect(ResolveEffectContext context) {
  if (Status s = admit_ack(); !s.is_ok()) throw rpc::to_exception(s);
  const auto params = context.getParams();
  const std::uint64_t field = params.getField();
  const std::uint64_t version = params.getVersion();
  Value value;
  try {
    value = detail::get_value(params.getValue());
  } catch (const detail::DecodeError& e) {
    throw rpc::to_exception(Status(StatusCode::invalid_argument, "resolveEffect: " + e.what));
  }
  context.releaseParams();
  return handed(
      context,
      [&](std::function<void(Texts)> done) {
        handler_.resolve_effect(field, version, std::move(value), std::move(done));
      },
      [](ResolveEffectContext& c, const std::vector<std::string>& outcome) {
        c.getResults(kSizeHint).setOutcome(text(outcome.empty() ? std::string() : outcome[0]));
      });
}

kj::Promise<void> ClusterService::ledger(LedgerContext context) {
  const Result<session::Role> acting = admit_call();
  if (!acting.is_ok()) throw rpc::to_exception(acting.status());
  const auto params = context.getParams();
  const std::uint64_t record = params.getRecord();
  std::string field = detail::get_text(params.getField());
  std::string command = detail::get_text(params.getCommand());
  std::string ref = detail::get_text(params.getRef());
  std::optional<std::uint64_t> at;
  if (params.getHasAt()) at = params.getAt();
  context.releaseParams();
  return handed(
      context,
      [&](std::function<void(Texts)> done) {
        handler_.ledger(record, std::move(field), std::move(command), std::move(ref), at, std::move(done));
      },
      [](LedgerContext& c, const std::vector<std::string>& answer) {
        c.getResults(kSizeHint).setAnswer(text(answer.empty() ? std::string() : answer[0]));
      });
}

kj::Promise<void> ClusterService::login(LoginContext context) {
  activity_->last = timer_.now();
  const Result<session::Role> granted = check(context.getParams().getToken());
  context.releaseParams();
  if (!granted.is_ok()) throw rpc::to_exception(granted.status());
  auto results = context.getResults(kSizeHint);
  results.setCluster(kj::heap<ClusterService>(handler_, limits_, access_, *granted, timer_,
                                              activity_, server_held_, canceler_));
  results.setRole(static_cast<wire::Role>(static_cast<std::uint16_t>(*granted)));
  return kj::READY_NOW;
}

/// One accepted connection: its stream, the two-party network over it and the RPC system.
/// Members are destroyed in reverse order: the RPC system before what it runs on, then the
/// calls it left pending, cancelled.
struct Connection {
  Connection(kj::Own<kj::AsyncIoStream> s, const capnp::ReaderOptions& options,
             kj::Function<capnp::Capability::Client(kj::Canceler&)> service)
      : stream(kj::mv(s)),
        network(*stream, capnp::rpc::twoparty::Side::SERVER, options),
        rpc(capnp::makeRpcServer(network, service(canceler))) {
    rpc.setFlowLimit(options.traversalLimitInWords);
  }
  kj::Canceler canceler;
  kj::Own<kj::AsyncIoStream> stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<VatId> rpc;
};

}  // namespace

struct ClientServer::Impl {
  Impl(ClientHandler& h, ClientServerLimits l, ClientAccess a)
      : handler(h), limits(l), access(std::move(a)) {}
  /// The event loop's thread: listens, reports through `started`, serves until stopped.
  void run(const std::string& host, std::uint16_t wanted, std::promise<Status>& started);

  ClientHandler& handler;
  const ClientServerLimits limits;
  const ClientAccess access;
  std::uint16_t port = 0;
  std::atomic<std::size_t> connections{0};
  std::shared_ptr<Held> held = std::make_shared<Held>();
  /// Created on the loop's thread before `started` is set; fulfilled to stop the loop.
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
  std::thread thread;
};

namespace {

/// What the event loop runs: the accept loop and the connections it started.
class Serving final : private kj::TaskSet::ErrorHandler {
 public:
  Serving(ClientServer::Impl& server, kj::Timer& timer, kj::ConnectionReceiver& listener)
      : server_(server), timer_(timer), listener_(listener) {
    // The traversal limit bounds both a frame's claimed size, checked before its segments
    // are allocated, and the words read decoding it.
    options_.traversalLimitInWords = server.limits.request_bytes_max / sizeof(capnp::word);
  }

  kj::Promise<void> accept_loop();

 private:
  void serve(kj::Own<kj::AsyncIoStream> stream);
  /// Resolves when the connection has been idle for the limit: no call in flight, none
  /// started or finished since.
  kj::Promise<void> idle(std::shared_ptr<Activity> activity);
  /// A failed connection ends alone; the server goes on.
  void taskFailed(kj::Exception&&) override {}

  ClientServer::Impl& server_;
  kj::Timer& timer_;
  kj::ConnectionReceiver& listener_;
  capnp::ReaderOptions options_;
  kj::TaskSet tasks_{*this};
};

kj::Promise<void> Serving::accept_loop() {
  return listener_.accept()
      .then(
          [this](kj::Own<kj::AsyncIoStream>&& stream) -> kj::Promise<void> {
            serve(kj::mv(stream));
            return kj::READY_NOW;
          },
          [this](kj::Exception&&) { return timer_.afterDelay(kAcceptRetryDelay); })
      .then([this] { return accept_loop(); });
}

void Serving::serve(kj::Own<kj::AsyncIoStream> stream) {
  // Over the limit, the stream is dropped here: the connection closes at once.
  if (server_.connections.load() >= server_.limits.connections_max) return;
  auto activity = std::make_shared<Activity>(timer_.now());
  auto service = [this, activity](kj::Canceler& canceler) -> capnp::Capability::Client {
    return kj::heap<ClusterService>(server_.handler, server_.limits, server_.access,
                                    server_.access.anonymous, timer_, activity, server_.held,
                                    canceler);
  };
  auto connection = kj::heap<Connection>(kj::mv(stream), options_, kj::mv(service));
  ++server_.connections;
  auto ended = connection->network.onDisconnect().exclusiveJoin(idle(std::move(activity)));
  tasks_.add(ended.attach(kj::mv(connection),
                          kj::defer([&count = server_.connections] { --count; })));
}

kj::Promise<void> Serving::idle(std::shared_ptr<Activity> activity) {
  const kj::Duration limit = duration(server_.limits.idle_timeout);
  // While a call is in flight the connection is not idle: look again a full period later.
  const bool busy = activity->held->calls.load() > 0;
  const kj::TimePoint due = busy ? timer_.now() + limit : activity->last + limit;
  return timer_.atTime(due).then([this, activity, limit]() -> kj::Promise<void> {
    const bool idle_now = activity->held->calls.load() == 0;
    if (idle_now && timer_.now() - activity->last >= limit) return kj::READY_NOW;
    return idle(activity);
  });
}

}  // namespace

void ClientServer::Impl::run(const std::string& host, std::uint16_t wanted,
                             std::promise<Status>& started) {
  bool reported = false;
  auto failure = [&](const char* why) {
    return Status(StatusCode::io_error,
                  "serving clients on " + host + ":" + std::to_string(wanted) + ": " + why);
  };
  try {
    kj::AsyncIoContext io = kj::setupAsyncIo();
    auto address = io.provider->getNetwork().parseAddress(host, wanted).wait(io.waitScope);
    kj::Own<kj::ConnectionReceiver> listener = address->listen();
    port = static_cast<std::uint16_t>(listener->getPort());
    auto stopped = kj::newPromiseAndCrossThreadFulfiller<void>();
    stop = kj::mv(stopped.fulfiller);
    Serving serving(*this, io.provider->getTimer(), *listener);
    kj::Promise<void> accepting = serving.accept_loop();
    reported = true;
    started.set_value(Status::ok());
    stopped.promise.exclusiveJoin(kj::mv(accepting)).wait(io.waitScope);
  } catch (const kj::Exception& e) {
    if (!reported) started.set_value(failure(e.getDescription().cStr()));
  } catch (const std::exception& e) {
    if (!reported) started.set_value(failure(e.what()));
  }
}

ClientServer::ClientServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ClientServer>> ClientServer::start(const std::string& host,
                                                          std::uint16_t port,
                                                          ClientHandler& handler,
                                                          ClientServerLimits limits,
                                                          ClientAccess access) {
  auto impl = std::make_unique<Impl>(handler, limits, std::move(access));
  std::promise<Status> started;
  std::future<Status> result = started.get_future();
  // The promise lives in the thread, so that setting it never races with its destruction.
  impl->thread = std::thread([&impl = *impl, host, port, started = std::move(started)]() mutable {
    impl.run(host, port, started);
  });
  Status status = result.get();
  if (!status.is_ok()) {
    impl->thread.join();
    return status;
  }
  return std::unique_ptr<ClientServer>(new ClientServer(std::move(impl)));
}

std::uint16_t ClientServer::port() const { return impl_->port; }

std::size_t ClientServer::connections() const { return impl_->connections.load(); }

ClientServer::~ClientServer() {
  // The loop may have ended on its own (an error); fulfilling a promise that is gone is a
  // no-op.
  impl_->stop->fulfill();
  impl_->thread.join();
}

kj::Promise<void> ClusterService::watch(WatchContext context) {
  const Result<session::Role> acting = admit_call();
  if (!acting.is_ok()) throw rpc::to_exception(acting.status());
  const auto params = context.getParams();
  if (params.getTargets().size() > kWatchTargetsMax) {
    throw rpc::to_exception(Status(StatusCode::out_of_range,
                                   "watch: " + std::to_string(params.getTargets().size()) +
                                       " names; at most " + std::to_string(kWatchTargetsMax)));
  }
  std::vector<std::string> targets = detail::get_texts(params.getTargets());
  const std::uint64_t from = params.getFromEpoch();
  const std::uint32_t max = params.getMax();
  const std::uint32_t wait_ms = params.getWaitMs();
  context.releaseParams();
  return handed<Result<WatchAnswer>>(
      context,
      [&](std::function<void(Result<WatchAnswer>)> done) {
        handler_.watch(std::move(targets), from, max, wait_ms, std::move(done));
      },
      [](WatchContext& c, const WatchAnswer& a) {
        auto results = c.getResults(kSizeHint);
        auto list = results.initEpochs(static_cast<unsigned>(a.epochs.size()));
        for (std::size_t i = 0; i < a.epochs.size(); ++i) list.set(static_cast<unsigned>(i), text(a.epochs[i]));
        results.setThrough(a.through);
        results.setResume(a.resume);
        results.setLog(a.log);
      });
}

kj::Promise<void> ClusterService::watchValues(WatchValuesContext context) {
  const Result<session::Role> acting = admit_call();
  if (!acting.is_ok()) throw rpc::to_exception(acting.status());
  session::Batch batch = decode(context.getParams().getBatch());
  if (context.getParams().getEntities().size() > kWatchTargetsMax) {
    throw rpc::to_exception(Status(StatusCode::out_of_range, "watchValues: at most " +
                                                                 std::to_string(kWatchTargetsMax) + " entities"));
  }
  std::vector<std::string> entities = detail::get_texts(context.getParams().getEntities());
  context.releaseParams();
  for (const session::Op& op : batch) {
    if (op.kind != session::OpKind::get) {
      throw rpc::to_exception(Status(StatusCode::invalid_argument, "watchValues: get operations only"));
    }
  }
  if (Status s = session::permit(*acting, batch); !s.is_ok()) throw rpc::to_exception(s);
  return handed<Result<WatchValues>>(
      context,
      [&](std::function<void(Result<WatchValues>)> done) {
        handler_.watch_values(std::move(batch), std::move(entities), std::move(done));
      },
      [](WatchValuesContext& c, const WatchValues& v) {
        auto results = c.getResults(kSizeHint);
        try {
          detail::put_batch_result(results.initResult(), v.results);
        } catch (const detail::EncodeError& e) {
          throw rpc::to_exception(Status(StatusCode::out_of_range, "batch result: " + e.what));
        }
        results.setEpoch(v.epoch);
        results.setRecords(text(v.records));
        results.setLog(v.log);
      });
}

void ClientHandler::watch(std::vector<std::string>, std::uint64_t, std::uint32_t, std::uint32_t,
                          std::function<void(Result<WatchAnswer>)> done) {
  done(Status(StatusCode::failed_precondition, "this server serves no subscriptions"));
}

void ClientHandler::watch_values(session::Batch, std::vector<std::string>,
                                 std::function<void(Result<WatchValues>)> done) {
  done(Status(StatusCode::failed_precondition, "this server serves no subscriptions"));
}

Status check_consumer_group(std::string_view group) {
  const bool ok = !group.empty() && group.size() <= kConsumerGroupNameMax &&
                  std::all_of(group.begin(), group.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.';
                  });
  if (ok) return Status::ok();
  return Status(StatusCode::invalid_argument,
                "consumer group '" + std::string(group.substr(0, kConsumerGroupNameMax)) +
                    (group.size() > kConsumerGroupNameMax ? "...'" : "'") + " is not a name of 1 to " +
                    std::to_string(kConsumerGroupNameMax) + " letters, digits, '_', '-' or '.'");
}

void ClientHandler::poll_effects(std::string, std::vector<std::string>, std::uint32_t,
                                 std::function<void(Texts)> done) {
  done(Status(StatusCode::failed_precondition, "this server delivers no effects"));
}

void ClientHandler::ack_effect(std::uint64_t, std::uint64_t, std::function<void(Texts)> done) {
  done(Status(StatusCode::failed_precondition, "this server delivers no effects"));
}

void ClientHandler::ack_effects(std::vector<std::string>, std::function<void(Texts)> done) {
  done(Status(StatusCode::failed_precondition, "this server delivers no effects"));
}

void ClientHandler::resolve_effect(std::uint64_t, std::uint64_t, Value, std::function<void(Texts)> done) {
  done(Status(StatusCode::failed_precondition, "this server delivers no effects"));
}

void ClientHandler::ledger(std::uint64_t, std::string, std::string, std::string, std::optional<std::uint64_t>,
                           std::function<void(Texts)> done) {
  done(Status(StatusCode::failed_precondition, "this server keeps no history"));
}

}  // namespace mgraph::codec
