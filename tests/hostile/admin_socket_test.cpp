// Hostile clients of mgraphd's admin socket (--admin PATH): clients that leave before their
// answer, send slowly, send too much or come in crowds, and PATH arguments naming something
// that is not the node's to take. The node must answer what it can, refuse what it must
// with a clear error, and keep running for everyone else.

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "admin_node.hpp"
#include "admin_server.hpp"

namespace mgraph::hostile {
namespace {

using Clock = std::chrono::steady_clock;

/// The server's bounds (node/src/admin_server.hpp): admin_command_max,
/// admin_clients_max and admin_request_deadline.
constexpr std::size_t kCommandMax = 4096;
constexpr std::size_t kClientsMax = 8;
constexpr auto kRequestDeadline = std::chrono::milliseconds(2000);

using AdminSocket = AdminNode;

TEST_F(AdminSocket, ClientsThatLeaveBeforeTheirAnswerDoNotStopTheNode) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  // A partial command, a whole one, and nothing at all, each followed by a close before
  // the answer: answering them writes to a peer that has gone.
  for (const std::string sent : {"sta", "status", "status\n", "", "frobnicate\n"}) {
    const int fd = connect_to(socket);
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(send_bytes(fd, sent));
    ::close(fd);
  }
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, ACommandAfterTheServerWasIdleLongerThanTheDeadlineIsAnswered) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  // The idle spell is what is tested, not a wait for something: the server once took a new
  // connection's deadline from before it waited, so the first command after it was
  // refused at once with "no command line within 2000 ms".
  std::this_thread::sleep_for(node::admin_request_deadline + std::chrono::milliseconds(500));
  int rc = 0;
  const std::string out = mgraphctl(socket, "status", &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("\"node\":\"n2\""), std::string::npos) << out;
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, ALineWithoutItsNewlineIsAnsweredWhenTheClientStopsSending) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  const int fd = connect_to(socket);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(send_bytes(fd, "status"));
  ::shutdown(fd, SHUT_WR);
  const nlohmann::json status = nlohmann::json::parse(read_answer(fd, kSilenceMs), nullptr, false);
  ::close(fd);
  ASSERT_TRUE(status.is_object()) << status;
  EXPECT_EQ(status.value("node", ""), "n2");
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, ASlowClientDoesNotDelayAnother) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  const int slow = connect_to(socket);
  ASSERT_GE(slow, 0);
  ASSERT_TRUE(send_bytes(slow, "s"));  // and holds the connection
  const Clock::time_point start = Clock::now();
  int rc = 0;
  const std::string out = mgraphctl(socket, "status", &rc);
  const auto took = Clock::now() - start;
  EXPECT_EQ(rc, 0) << out;
  EXPECT_LT(took, kRequestDeadline / 2)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  // The slow client itself is cut off at its deadline, with an answer saying why.
  EXPECT_NE(error_of(read_answer(slow, kSilenceMs)).find("no command line within 2000 ms"),
            std::string::npos);
  ::close(slow);
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, TheDeadlineIsForTheWholeLineNotForEachByte) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  const int fd = connect_to(socket);
  ASSERT_GE(fd, 0);
  const Clock::time_point start = Clock::now();
  std::string answer;
  // One byte, then up to 100 ms for the answer, again: a client that trickles bytes. The
  // node must answer within its deadline; 100 rounds (about 10 s) bound the wait.
  for (int round = 0; round < 100 && answer.empty(); ++round) {
    if (!send_bytes(fd, "s")) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, 100) > 0) answer = read_answer(fd, kSilenceMs);
  }
  const auto took = Clock::now() - start;
  ::close(fd);
  EXPECT_NE(error_of(answer).find("no command line within"), std::string::npos) << answer;
  EXPECT_LT(took, kRequestDeadline * 2)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, AnOverlongLineGetsAnErrorAnswer) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  const std::string expected = "command longer than " + std::to_string(kCommandMax) + " bytes";
  // Too long without a newline, too long with one, and far too long.
  for (const std::string& sent :
       {std::string(kCommandMax + 1, 'x'), std::string(kCommandMax + 1, 'x') + "\n",
        std::string(1 << 16, 'y')}) {
    const int fd = connect_to(socket);
    ASSERT_GE(fd, 0);
    (void)send_bytes(fd, sent);  // the node may stop reading and answer first
    EXPECT_EQ(error_of(read_answer(fd, kSilenceMs)), expected);
    ::close(fd);
  }
  // The longest line the node reads is a command like any other.
  const int fd = connect_to(socket);
  ASSERT_GE(fd, 0);
  const std::string longest(kCommandMax, 'z');
  ASSERT_TRUE(send_bytes(fd, longest + "\n"));
  EXPECT_EQ(error_of(read_answer(fd, kSilenceMs)), "unknown command '" + longest + "'; try help");
  ::close(fd);
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, MoreClientsThanTheBoundGetABusyAnswer) {
  const std::string socket = path("n2.sock");
  ChildProcess node = serving_node(socket);
  std::vector<int> held;
  for (std::size_t i = 0; i < kClientsMax; ++i) {
    held.push_back(connect_to(socket));
    ASSERT_GE(held.back(), 0);
  }
  const int extra = connect_to(socket);
  ASSERT_GE(extra, 0);
  EXPECT_EQ(error_of(read_answer(extra, kSilenceMs)).rfind("busy", 0), 0u);
  ::close(extra);
  int rc = 0;
  std::string out = mgraphctl(socket, "status", &rc);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_EQ(error_of(out).rfind("busy", 0), 0u) << out;
  for (const int fd : held) ::close(fd);
  // Their places are free again.
  expect_alive_then_stop(socket, node);
}

TEST_F(AdminSocket, APathThatIsNotASocketIsRefusedAndLeftAsItWas) {
  const std::string file = path("precious.txt"), dir = path("a_directory");
  const std::string link = path("a_link");
  std::ofstream(file) << "keep me\n";
  fs::create_directory(dir);
  fs::create_symlink(file, link);
  for (const std::string& target : {file, dir, link}) {
    ChildProcess node = start_node(target);
    EXPECT_EQ(node.finish(kQuickExitMs), 2) << target << ": " << node.printed;
    EXPECT_NE(node.printed.find("admin socket " + target + " exists and is not a socket"),
              std::string::npos)
        << node.printed;
  }
  std::ostringstream kept;
  kept << std::ifstream(file).rdbuf();
  EXPECT_EQ(kept.str(), "keep me\n");
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::is_symlink(link));
}

TEST_F(AdminSocket, ASocketAnotherNodeServesIsNotTakenOver) {
  const std::string socket = path("n2.sock");
  ChildProcess first = serving_node(socket);
  ChildProcess second = start_node(socket);
  EXPECT_EQ(second.finish(kQuickExitMs), 3) << second.printed;
  EXPECT_NE(second.printed.find("admin socket " + socket + " is served by another process"),
            std::string::npos)
      << second.printed;
  expect_alive_then_stop(socket, first);
}

TEST_F(AdminSocket, ASocketAnotherProgramServesIsNotTakenOver) {
  const std::string socket = path("other.sock");
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ChildProcess node = start_node(socket);
  EXPECT_EQ(node.finish(kQuickExitMs), 3) << node.printed;
  EXPECT_NE(node.printed.find("is served by another process"), std::string::npos) << node.printed;
  // Still the other program's: a client reaches it.
  const int client = connect_to(socket);
  EXPECT_GE(client, 0);
  if (client >= 0) ::close(client);
  ::close(listener);
}

TEST_F(AdminSocket, AStaleSocketFromANodeThatDiedIsReplaced) {
  const std::string socket = path("stale.sock");
  // Bound, never listening, closed: what a killed node leaves behind.
  const int dead = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(dead, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(dead);
  ASSERT_TRUE(fs::is_socket(socket));
  ChildProcess node = serving_node(socket);
  expect_alive_then_stop(socket, node);
  EXPECT_FALSE(fs::exists(socket));  // removed when the node stops
}

}  // namespace
}  // namespace mgraph::hostile
