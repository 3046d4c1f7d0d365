#pragma once
// The one command classifier: a line of the script language (docs/SCRIPTS.md) becomes a
// typed operation. Every command word is recognised here and nowhere else; the embedded
// `mgraph eval`, persistent sessions and the cluster client all go through it.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "mgraph/session/operation.hpp"

namespace mgraph::session {

/// Bytes accepted in one script line; longer lines are an error.
inline constexpr std::size_t kScriptLineMax = std::size_t{1} << 20;
/// The name scripts give the record of the global values (`set global.rate = 0.2`);
/// no alias may take it.
inline constexpr std::string_view kGlobalRef = "global";

/// Names a record: an alias, "#N" or "Entity#N". Unknown names fail with not_found.
using RefResolver = std::function<Result<RecordRef>(std::string_view name)>;

/// A classified line: its operation, and for `create` the alias the line gives the new
/// record (empty: none).
struct Classified {
  Op op;
  std::string alias;
};

/// Classifies one line. Blank lines and comments give nothing; every other line gives an
/// Op, of kind `invalid` when the line is malformed or names an unknown record (the error
/// then is the answer the line gets). Records are named through `resolve`, left to right,
/// and parsing stops at the first error, as executing the line would.
std::optional<Classified> classify(std::string_view line, const RefResolver& resolve);

/// The command word of a line: its first word (letters, digits, '_', '#', '.') after
/// blanks; empty for a blank line or a comment.
std::string_view command_word(std::string_view line);

/// The operation a command word names; nullopt for any other word, the persistent-session
/// commands among them.
std::optional<OpKind> op_kind_of(std::string_view word);

/// The commands a persistent embedded session answers itself (`mgraph eval --data`):
/// checkpoint, history, audit.
bool is_session_command(std::string_view word);

/// Whether an op of `kind` changes what a persistent session must log: mutations, commit,
/// reject, undo and redo.
bool is_logged(OpKind kind);
/// Whether a successful op of `kind` makes a new revision: commit, undo, redo.
bool ends_epoch(OpKind kind);

/// The record id in "#N" or "Entity#N"; nullopt for anything else (an alias).
std::optional<RecordId> record_id_of(std::string_view name);

/// A script value: 1, 2.5, "text", true, false, null, [1, 2], [[1, 2], [3, 4]].
Result<Value> parse_script_value(std::string_view text);

/// Whether a line (already classified as `kind`) ends the open transaction, so that a
/// client batching lines sends what it holds.
inline bool ends_transaction(OpKind kind) { return kind == OpKind::commit || kind == OpKind::reject; }

}  // namespace mgraph::session
