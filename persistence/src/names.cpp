// Names of the module's enums, for messages and logs.

#include "mgraph/persistence/options.hpp"
#include "mgraph/persistence/records.hpp"

namespace mgraph::persistence {

const char* durability_name(Durability durability) {
  switch (durability) {
    case Durability::sync:
      return "sync";
    case Durability::nosync:
      return "nosync";
  }
  return "unknown";
}

const char* ledger_kind_name(LedgerKind kind) {
  switch (kind) {
    case LedgerKind::transition:
      return "transition";
    case LedgerKind::delivery_attempt:
      return "delivery_attempt";
    case LedgerKind::delivery_failure:
      return "delivery_failure";
    case LedgerKind::ack:
      return "ack";
    case LedgerKind::dead_letter:
      return "dead_letter";
    case LedgerKind::dead_letter_retry:
      return "dead_letter_retry";
    case LedgerKind::dead_letter_drop:
      return "dead_letter_drop";
  }
  return "unknown";
}

}  // namespace mgraph::persistence
