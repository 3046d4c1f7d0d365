#pragma once
// The cluster's effect deliveries, as the sequencer keeps them (documents.hpp): the
// deliveries core (session/effect_delivery.hpp) fed by the driver's effect reports and
// asked by consumers and the admin socket. No CAF, no clock: the sequencer passes the time.
//
//   driver ──EffectReport(epoch)──▶ report: offer what it raised, settle what it acked
//   consumer ──poll(effects, max)──▶ the deliveries due now, as JSON objects
//   consumer ──ack(key)──▶ start_ack: the batch to run (ack REF.effect with the key; commit)
//                          ... the batch runs as an input transaction ...
//                          finish_ack: the outcome the consumer is told
//
// An ack becomes a transaction only for a key owed now (pending, or a dead letter), and
// only once at a time: a repeated ack, one of a key acknowledged before, or of an older
// version than any owed, runs nothing and is answered duplicate or unknown. The report of
// the epoch that ran it settles the delivery; replaying the log after a restart does the
// same, so what was acknowledged stays acknowledged.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "mgraph/graph/status.hpp"
#include "mgraph/session/effect_delivery.hpp"
#include "mgraph/session/operation.hpp"

namespace mgraph::actors {

/// Deliveries one poll returns at most: a consumer polls again for more, and one answer
/// stays a small message.
inline constexpr std::uint32_t kPollDeliveriesMax = 1024;

class EffectOutbox {
 public:
  /// Takes an epoch's EffectReport bytes (codec/partition_codec.hpp). Bad bytes or a refused
  /// offer are counted in errors() with the last one kept: a report never stops the sequencer.
  void report(std::uint64_t epoch, std::string_view bytes, session::DeliveryTime now);
  /// The deliveries of `effects` ("Entity.name") due at `now`, at most min(max,
  /// kPollDeliveriesMax), each as the JSON object a consumer prints:
  /// {"key":{"field":F,"version":V},"epoch":E,"record":R,"effect":"…","value":…,"attempt":N}.
  std::vector<std::string> poll(const std::vector<std::string>& effects, std::uint32_t max,
                                session::DeliveryTime now);
  /// The batch acknowledging `key` (an ack op naming the key in its text, then a commit);
  /// or, when nothing is to run, a Status whose message is the outcome: "duplicate" (acked
  /// before, or an ack of it is running) or "unknown".
  Result<session::Batch> start_ack(session::DeliveryKey key, session::DeliveryTime now);
  /// The outcome for the consumer once the batch of start_ack(key) answered: "acked" or
  /// "acked_dead_letter", or "failed: why" (the delivery stays owed).
  std::string finish_ack(session::DeliveryKey key, const Result<session::BatchResult>& answer);
  /// mgraphctl dlq: "list" ({"dead_letters":[…]}), "retry" and "drop" of `key`
  /// ({"ok":true,"key":"F:V"}); {"error":"…"} otherwise.
  std::string dead_letter_command(const std::string& command, session::DeliveryKey key,
                                  session::DeliveryTime now);

  const session::EffectDeliveries& deliveries() const { return deliveries_; }
  /// Takes back the deliveries of a checkpoint (session::EffectDeliveries::restore); no
  /// ack is running then.
  void restore(session::OwedDeliveries owed, session::DeliveryTime now) {
    deliveries_.restore(std::move(owed), now);
    acking_.clear();
  }
  std::uint64_t errors() const { return errors_; }
  const std::string& last_error() const { return last_error_; }

 private:
  session::EffectDeliveries deliveries_;
  /// Keys whose ack batch is running, and whether each was a dead letter.
  std::map<session::DeliveryKey, bool> acking_;
  std::uint64_t errors_ = 0;
  std::string last_error_;
};

}  // namespace mgraph::actors
