// Hostile command lines for the node tools: mgraphctl commands that try to inject JSON or
// carry bytes that are not UTF-8, and bad arguments to mgraphctl, mgraphd and mgraph. Every
// answer must stay one valid JSON object of the documented shape, and every bad argument
// must end with the documented exit code 2 and the usage.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "admin_node.hpp"

namespace mgraph::hostile {
namespace {

/// The keys of `answer`, which must be one JSON object.
std::set<std::string> keys_of(const std::string& answer) {
  const nlohmann::json j = nlohmann::json::parse(answer, nullptr, false);
  EXPECT_TRUE(j.is_object()) << answer;
  std::set<std::string> keys;
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) keys.insert(key);
  }
  return keys;
}

using Mgraphctl = AdminNode;

TEST_F(Mgraphctl, CommandsCannotChangeTheShapeOfTheAnswer) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  const std::vector<std::string> commands = {R"(x","injected":true,"y":")",
                                             R"(a"b)",
                                             R"(back\slash)",
                                             "}{",
                                             "tab\there",
                                             "\x01\x1f control",
                                             "status\"",
                                             "caf\xc3\xa9"};
  for (const std::string& command : commands) {
    int rc = 0;
    const std::string out = mgraphctl(socket, command, &rc);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_EQ(error_of(out), "unknown command '" + command + "'; try help") << out;
  }
  int rc = 0;
  const std::string status = mgraphctl(socket, "status", &rc);
  EXPECT_EQ(rc, 0) << status;
  EXPECT_EQ(keys_of(status),
            (std::set<std::string>{"node", "listen", "coordinator", "partitions", "epochs", "clients",
                                   "client_access", "peer_tls", "batches", "ready", "peers",
                                   "draining", "partition_work"}))
      << status;
  // A node on loopback without tokens or [tls] says so.
  const nlohmann::json parsed = nlohmann::json::parse(status);
  EXPECT_EQ(parsed.at("client_access"), "clients act as admin") << status;
  EXPECT_EQ(parsed.at("peer_tls"), false) << status;
  expect_alive_then_stop(socket, node);
}

TEST_F(Mgraphctl, BytesThatAreNotUtf8StillGiveValidJson) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  for (const std::string command : {"\xff", "a\xfe\"b", "\xc3", "\xed\xa0\x80 surrogate"}) {
    int rc = 0;
    const std::string out = mgraphctl(socket, command, &rc);
    EXPECT_EQ(rc, 1) << out;
    // The bytes are replaced by U+FFFD; the rest of the command is kept.
    EXPECT_NE(error_of(out).find("\xef\xbf\xbd"), std::string::npos) << out;
  }
  expect_alive_then_stop(socket, node);
}

TEST_F(Mgraphctl, ACommandOfSeveralLinesIsABadArgument) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  int rc = 0;
  // Not the status answer for the first line while the rest is dropped.
  const std::string out = mgraphctl(socket, "status\nshutdown", &rc, true);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("a command is one line"), std::string::npos) << out;
  expect_alive_then_stop(socket, node);
}

/// Runs `args` (stdout and stderr merged); its exit code in *rc.
std::string run(const std::vector<std::string>& args, int* rc) {
  ChildProcess c = ChildProcess::spawn(args, true);
  *rc = c.finish(kSilenceMs);
  return c.printed;
}

TEST(CommandLine, BadArgumentsExitTwoWithTheUsage) {
  const std::string ctl = MGRAPHCTL_BINARY, d = MGRAPHD_BINARY, mg = MGRAPH_BINARY;
  const std::vector<std::vector<std::string>> cases = {
      {ctl},                                                  // nothing
      {ctl, "status"},                                        // no --socket
      {ctl, "--socket", "/tmp/x.sock"},                       // no command
      {ctl, "--socket"},                                      // an option without its value
      {ctl, "--socket", "/tmp/x.sock", "--bogus", "status"},  // an unknown option
      {ctl, "--jsn", "--socket", "/tmp/x.sock", "status"},   // a misspelt option
      {d},
      {d, "--config", "c.toml"},
      {d, "--config", "c.toml", "--node", "n1", "--bogus"},
      {d, "--config", "c.toml", "--node", "n1", "--epochs", "many"},
      {d, "--config", "c.toml", "--node", "n1", "surplus"},
      {d, "--config", "c.toml", "--node", "n1", "--log-level", "loud"},
      {ctl, "--socket", "/tmp/x.sock", "explain"},                 // no REF.field
      {ctl, "--socket", "/tmp/x.sock", "explain", "#1.x", "--depth"},
      {ctl, "--socket", "/tmp/x.sock", "drain", "--timeout", "-1"},
      {ctl, "--socket", "/tmp/x.sock", "log-level", "info", "extra"},
      {mg},
      {mg, "frobnicate"},
      {mg, "eval"},
      {mg, "eval", "s.mgs", "--bogus"},
      {mg, "eval", "s.mgs", "--checkpoint-every", "-1"},
      {mg, "bench"},                                          // no --connect
      {mg, "bench", "--connect", "127.0.0.1:1", "--clients", "0"},
  };
  for (const std::vector<std::string>& args : cases) {
    std::string line;
    for (const std::string& a : args) line += a + " ";
    int rc = 0;
    const std::string out = run(args, &rc);
    EXPECT_EQ(rc, 2) << line << "\n" << out;
    EXPECT_NE(out.find("Usage:"), std::string::npos) << line << "\n" << out;
  }
}

TEST(CommandLine, HelpExitsZero) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{MGRAPHCTL_BINARY, "--help"},
                                             {MGRAPHCTL_BINARY, "explain", "--help"},
                                             {MGRAPHCTL_BINARY, "dot", "--help"},
                                             {MGRAPHCTL_BINARY, "log-level", "--help"},
                                             {MGRAPHCTL_BINARY, "drain", "--help"},
                                             {MGRAPHD_BINARY, "--help"},
                                             {MGRAPH_BINARY, "--help"},
                                             {MGRAPH_BINARY, "eval", "--help"},
                                             {MGRAPH_BINARY, "bench", "--help"}}) {
    int rc = 0;
    const std::string out = run(args, &rc);
    EXPECT_EQ(rc, 0) << args[0] << "\n" << out;
    EXPECT_NE(out.find("Usage:"), std::string::npos) << out;
  }
}

}  // namespace
}  // namespace mgraph::hostile
