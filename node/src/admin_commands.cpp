#include "admin_commands.hpp"

#include "mgraph/session/effect_delivery.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "log.hpp"
#include "node_state.hpp"

namespace mgraph::node {
namespace {

using Json = nlohmann::ordered_json;  // keys in the documented order

/// One line of JSON; bytes that are not UTF-8 are replaced, never printed raw.
std::string line_of(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string status_answer(const NodeStatus& s) {
  Json j{{"node", s.node},
         {"listen", s.listen},
         {"coordinator", s.coordinator},
         {"partitions", s.partitions},
         {"epochs", Json{{"committed", s.committed->load()},
                         {"aborted", s.aborted->load()},
                         {"last", s.last->load()}}}};
  if (s.more) {
    const Json more = s.more();  // held: items() refers to it
    for (const auto& [key, value] : more.items()) j[key] = value;
  }
  if (s.partitions_work) j["partition_work"] = s.partitions_work();
  return line_of(j);
}

/// The words of a command line, split at spaces.
std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// `epochs [N | --last N]`: the last N epochs (default kEpochsShownDefault, at most
/// kRecentEpochsMax).
std::string epochs_answer(const NodeStatus& s, const std::vector<std::string>& args) {
  std::size_t n = kEpochsShownDefault;
  std::string count;
  if (args.size() == 1) count = args[0];
  if (args.size() == 2 && args[0] == "--last") count = args[1];
  if (args.size() > 2 || (args.size() == 2 && args[0] != "--last")) {
    return error_answer("usage: epochs [--last N]");
  }
  if (!count.empty()) {
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), n);
    if (ec != std::errc() || end != count.data() + count.size() || n < 1 || n > kRecentEpochsMax) {
      return error_answer("epochs --last N: N must be an integer in [1, " + std::to_string(kRecentEpochsMax) +
                          "], not '" + count + "'");
    }
  }
  Json j{{"node", s.node}, {"coordinator", s.coordinator}};
  j["epochs"] = s.epochs ? s.epochs(n) : Json::array();
  return line_of(j);
}

/// `[REF.field] [--depth N]` of explain and dot: the field (null when absent and
/// `optional`) and the depth.
Status parse_trace_args(const std::string& command, const std::vector<std::string>& args,
                        bool optional, std::optional<FieldRef>* ref, std::uint32_t* depth) {
  const std::string usage = command == "explain" ? "usage: explain REF.field [--depth N]"
                                                 : "usage: dot [REF.field] [--depth N]";
  *depth = trace_depth_default;
  bool depth_given = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--depth") {
      if (i + 1 == args.size()) return Status(StatusCode::invalid_argument, usage);
      const std::string& n = args[++i];
      const auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), *depth);
      if (ec != std::errc() || end != n.data() + n.size() || *depth > trace_depth_max) {
        return Status(StatusCode::invalid_argument,
                      command + " --depth N: N must be an integer in [0, " +
                          std::to_string(trace_depth_max) + "], not '" + n + "'");
      }
      depth_given = true;
    } else if (!ref->has_value() && args[i].rfind("--", 0) != 0) {
      Result<FieldRef> parsed = parse_field_ref(args[i]);
      if (!parsed.is_ok()) return Status(StatusCode::invalid_argument, command + ": " + parsed.status().message());
      *ref = std::move(parsed).value();
    } else {
      return Status(StatusCode::invalid_argument, usage);
    }
  }
  if (!optional && !ref->has_value()) return Status(StatusCode::invalid_argument, usage);
  if (depth_given && !ref->has_value()) {
    return Status(StatusCode::invalid_argument, "dot --depth N needs a field: dot REF.field --depth N");
  }
  return Status::ok();
}

/// A line of JSON: the node's name, then `fields` (an object) key by key.
std::string node_answer(const std::string& node, const Json& fields) {
  Json j{{"node", node}};
  for (const auto& [key, value] : fields.items()) j[key] = value;
  return line_of(j);
}

/// node_answer of `answer`, or an error line "COMMAND: why".
std::string node_answer(const std::string& node, const std::string& command, const Result<Json>& answer) {
  if (!answer.is_ok()) return error_answer(command + ": " + answer.status().message());
  return node_answer(node, *answer);
}

std::string no_documents(const std::string& command) {
  return error_answer(command + ": this process holds no documents (an mgraphd node does)");
}

std::string explain_answer(const NodeStatus& s, const std::vector<std::string>& args) {
  std::optional<FieldRef> ref;
  std::uint32_t depth = 0;
  if (Status p = parse_trace_args("explain", args, false, &ref, &depth); !p.is_ok()) return error_answer(p.message());
  if (!s.documents) return no_documents("explain");
  return node_answer(s.node, "explain", explain_field(*s.documents, *ref, depth));
}

std::string dot_answer(const NodeStatus& s, const std::vector<std::string>& args) {
  std::optional<FieldRef> ref;
  std::uint32_t depth = 0;
  if (Status p = parse_trace_args("dot", args, true, &ref, &depth); !p.is_ok()) return error_answer(p.message());
  if (!s.documents) return no_documents("dot");
  Result<std::string> dot = dot_graph(*s.documents, ref ? &*ref : nullptr, depth);
  if (!dot.is_ok()) return error_answer("dot: " + dot.status().message());
  return line_of(Json{{"node", s.node}, {"dot", *dot}});
}

std::string log_level_answer(const NodeStatus& s, const std::vector<std::string>& args) {
  if (args.size() > 1) return error_answer("usage: log-level [trace|debug|info|warn|error|off]");
  const log::Level was = log::level();
  if (args.size() == 1) {
    Result<log::Level> level = log::parse_level(args[0]);
    if (!level.is_ok()) return error_answer("log-level: " + level.status().message());
    log::set_level(*level);
    // At warn, so that it shows at any level but off.
    log::warn("log_level", {{"level", log::level_name(*level)}, {"was", log::level_name(was)}});
  }
  return line_of(Json{{"node", s.node},
                      {"log_level", log::level_name(log::level())},
                      {"was", log::level_name(was)}});
}

std::string dlq_answer(const NodeStatus& s, const std::vector<std::string>& args) {
  static constexpr const char* kUsage =
      "usage: dlq list | dlq retry FIELD:VERSION | dlq drop FIELD:VERSION";
  if (!s.dead_letters) return error_answer("dlq: this process holds no effect deliveries");
  const bool list = args.size() == 1 && args[0] == "list";
  const bool keyed = args.size() == 2 && (args[0] == "retry" || args[0] == "drop");
  if (!list && !keyed) return error_answer(kUsage);
  session::DeliveryKey key;
  if (keyed) {
    Result<session::DeliveryKey> k = session::parse_delivery_key(args[1]);
    if (!k.is_ok()) return error_answer("dlq " + args[0] + ": " + k.status().message());
    key = *k;
  }
  return node_answer(s.node, "dlq " + args[0], s.dead_letters(args[0], key.field, key.version));
}

}  // namespace

AdminServer::Handler admin_commands(NodeStatus status, std::function<void()> shutdown) {
  return [status = std::move(status),
          shutdown = std::move(shutdown)](const std::string& command) -> std::string {
    const std::vector<std::string> words = words_of(command);
    const std::string word = words.empty() ? std::string() : words[0];
    const std::vector<std::string> args(words.empty() ? words.end() : words.begin() + 1, words.end());
    if (word == "epochs") return epochs_answer(status, args);
    if (word == "explain" || word == "dot") {
      std::string answer;
      try {
        answer = word == "explain" ? explain_answer(status, args) : dot_answer(status, args);
      } catch (const nlohmann::json::exception& e) {
        // A partition's answer not of the shape inspect.hpp gives: a bug, not a crash.
        return error_answer(word + ": internal error: " + e.what());
      }
      if (answer.size() <= admin_answer_max) return answer;
      return error_answer(word + ": the answer would take " + std::to_string(answer.size()) +
                          " bytes, more than " + std::to_string(admin_answer_max) +
                          "; give a smaller --depth");
    }
    if (word == "log-level") return log_level_answer(status, args);
    if (word == "dlq") return dlq_answer(status, args);
    if (command == "consumers") {
      if (!status.dead_letters) return error_answer("consumers: this process holds no effect deliveries");
      return node_answer(status.node, "consumers", status.dead_letters("consumers", 0, 0));
    }
    if (command == "checkpoint") {
      if (!status.checkpoint) return error_answer("checkpoint: this process holds no documents");
      return node_answer(status.node, "checkpoint", status.checkpoint());
    }
    if (command == "drain") {
      if (!status.drain) return error_answer("drain: this process takes no client transactions");
      return node_answer(status.node, status.drain());
    }
    if (word == "partitions" && args.empty()) {
      return line_of(Json{{"node", status.node},
                          {"partitions", status.partitions_work ? status.partitions_work() : Json::array()}});
    }
    if (command == "status") return status_answer(status);
    if (command == "shutdown") {
      shutdown();
      return line_of(Json{{"shutdown", status.node}});
    }
    if (command == "help")
      return line_of(Json{{"commands", Json::array({"status", "partitions", "epochs [--last N]",
                                                       "explain REF.field [--depth N]",
                                                       "dot [REF.field] [--depth N]",
                                                       "log-level [trace|debug|info|warn|error|off]",
                                                       "drain",
                                                       "dlq list | retry FIELD:VERSION | drop FIELD:VERSION",
                                                       "consumers",
                                                       "checkpoint", "shutdown", "help"})}});
    return error_answer("unknown command '" + command + "'; try help");
  };
}

}  // namespace mgraph::node
