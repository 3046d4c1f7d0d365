// The gateway's relay (request_relay.hpp) in one process: answers reach their requests once
// each, refusals and timeouts come back as errors, a target that stops and a relay that is
// destroyed answer what is outstanding at once.

#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "request_relay.hpp"

namespace mgraph::node {
namespace {

using echo_atom = caf::atom_constant<caf::atom("t_echo")>;
using hold_atom = caf::atom_constant<caf::atom("t_hold")>;
using refuse_atom = caf::atom_constant<caf::atom("t_refuse")>;
using poll_atom = caf::atom_constant<caf::atom("t_poll")>;
using held_atom = caf::atom_constant<caf::atom("t_held")>;

/// Answers echo and poll at once, refuses refuse, and holds hold unanswered (a promise it
/// never delivers) after telling its holder through `held`.
caf::behavior target(caf::event_based_actor* self, caf::actor held) {
  auto promises = std::make_shared<std::vector<caf::response_promise>>();
  return {
      [](echo_atom, const std::string& s) { return "echo " + s; },
      [](poll_atom, std::uint64_t n) {
        return caf::make_message(true, n, std::vector<std::string>(n, "x"), n + 40);
      },
      [](refuse_atom) -> caf::result<std::string> {
        return caf::make_error(caf::sec::invalid_argument, std::string("not this one"));
      },
      [self, promises, held](hold_atom) -> caf::result<std::string> {
        promises->push_back(self->make_response_promise());
        if (held) self->send(held, held_atom::value);
        return caf::delegated<std::string>();
      },
  };
}

/// Collects outcomes; wait() blocks until `n` arrived, at most `bound` (then fails the test).
class Outcomes {
 public:
  RelayDone add() {
    return [this](RelayOutcome o) {
      std::lock_guard<std::mutex> lock(mutex_);
      outcomes_.push_back(std::move(o));
      changed_.notify_all();
    };
  }
  std::vector<RelayOutcome> wait(std::size_t n, std::chrono::seconds bound = std::chrono::seconds(20)) {
    std::unique_lock<std::mutex> lock(mutex_);
    EXPECT_TRUE(changed_.wait_for(lock, bound, [&] { return outcomes_.size() >= n; }))
        << outcomes_.size() << " of " << n << " outcomes";
    return outcomes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<RelayOutcome> outcomes_;
};

class Relay : public ::testing::Test {
 protected:
  /// Sends one request through `relay` and waits for its outcome.
  static RelayOutcome one(RequestRelay& relay, const caf::actor& to, caf::message m, RelayAnswer answer) {
    Outcomes outcomes;
    relay.request(to, std::move(m), answer, outcomes.add());
    std::vector<RelayOutcome> got = outcomes.wait(1);
    EXPECT_EQ(got.size(), 1u);
    return got.empty() ? RelayOutcome{} : std::move(got[0]);
  }

  // The relay is a broker: the system runs a middleman.
  static caf::actor_system_config& with_middleman(caf::actor_system_config& c) {
    c.load<caf::io::middleman>();
    return c;
  }
  caf::actor_system_config config_;
  caf::actor_system sys_{with_middleman(config_)};
};

TEST_F(Relay, AnswersComeBackToTheirRequestsOnceEachFromAnyThread) {
  RequestRelay relay(sys_, std::chrono::seconds(60));
  const caf::actor t = sys_.spawn(target, caf::actor());
  constexpr int kPerThread = 200;
  std::mutex mutex;
  std::vector<std::string> answers;
  std::condition_variable changed;
  auto send = [&](int first) {
    for (int i = first; i < first + kPerThread; ++i) {
      const std::string id = std::to_string(i);
      relay.request(t, caf::make_message(echo_atom::value, id), RelayAnswer::text, [&, id](RelayOutcome o) {
        std::lock_guard<std::mutex> lock(mutex);
        ASSERT_EQ(o.kind, RelayOutcome::Kind::answered) << o.reason;
        EXPECT_EQ(o.answer.get_as<std::string>(0), "echo " + id);
        answers.push_back(id);
        changed.notify_all();
      });
    }
  };
  std::thread a(send, 0), b(send, kPerThread);
  a.join();
  b.join();
  std::unique_lock<std::mutex> lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(20), [&] { return answers.size() >= 2 * kPerThread; }));
  std::sort(answers.begin(), answers.end());
  EXPECT_EQ(std::unique(answers.begin(), answers.end()), answers.end()) << "an answer came twice";
  EXPECT_EQ(answers.size(), 2u * kPerThread);
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
}

TEST_F(Relay, AnswersOfSeveralElementsKeepThemInOrder) {
  RequestRelay relay(sys_, std::chrono::seconds(60));
  const caf::actor t = sys_.spawn(target, caf::actor());
  const RelayOutcome o = one(relay, t, caf::make_message(poll_atom::value, std::uint64_t{3}), RelayAnswer::watch_poll);
  ASSERT_EQ(o.kind, RelayOutcome::Kind::answered) << o.reason;
  EXPECT_TRUE(o.answer.get_as<bool>(0));
  EXPECT_EQ(o.answer.get_as<std::uint64_t>(1), 3u);
  EXPECT_EQ(o.answer.get_as<std::vector<std::string>>(2).size(), 3u);
  EXPECT_EQ(o.answer.get_as<std::uint64_t>(3), 43u);
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
}

TEST_F(Relay, ARefusalComesBackWithItsReason) {
  RequestRelay relay(sys_, std::chrono::seconds(60));
  const caf::actor t = sys_.spawn(target, caf::actor());
  const RelayOutcome o = one(relay, t, caf::make_message(refuse_atom::value), RelayAnswer::text);
  EXPECT_EQ(o.kind, RelayOutcome::Kind::failed);
  EXPECT_EQ(o.error, caf::sec::invalid_argument);
  ASSERT_EQ(o.error.context().size(), 1u);
  EXPECT_EQ(o.error.context().get_as<std::string>(0), "not this one");
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
}

TEST_F(Relay, ARequestNotAnsweredInTimeFails) {
  RequestRelay relay(sys_, std::chrono::milliseconds(50));
  const caf::actor t = sys_.spawn(target, caf::actor());
  const RelayOutcome o = one(relay, t, caf::make_message(hold_atom::value), RelayAnswer::text);
  EXPECT_EQ(o.kind, RelayOutcome::Kind::failed);
  EXPECT_EQ(o.error, caf::sec::request_timeout) << o.reason;
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
}

TEST_F(Relay, ATargetThatStopsBeforeAnsweringIsReportedAtOnceNotAtTheTimeout) {
  RequestRelay relay(sys_, std::chrono::hours(1));
  caf::scoped_actor self(sys_);
  const caf::actor t = sys_.spawn(target, caf::actor(self));
  Outcomes outcomes;
  relay.request(t, caf::make_message(hold_atom::value), RelayAnswer::text, outcomes.add());
  relay.request(t, caf::make_message(echo_atom::value, std::string("a")), RelayAnswer::text, outcomes.add());
  self->receive([](held_atom) {});  // the target holds the first request
  // The echo is answered before the target is told to stop: an exit message overtakes
  // what waits in a mailbox, and the echo would then be the target's loss too.
  const std::vector<RelayOutcome> echoed = outcomes.wait(1);
  ASSERT_EQ(echoed.size(), 1u);
  EXPECT_EQ(echoed[0].kind, RelayOutcome::Kind::answered);
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  const std::vector<RelayOutcome> got = outcomes.wait(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].kind, RelayOutcome::Kind::stopped);
  EXPECT_NE(got[1].reason.find("user_shutdown"), std::string::npos) << got[1].reason;
  // A request to the target now gone is answered at once too.
  relay.request(t, caf::make_message(echo_atom::value, std::string("b")), RelayAnswer::text, outcomes.add());
  const std::vector<RelayOutcome> again = outcomes.wait(3);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_NE(again[2].kind, RelayOutcome::Kind::answered);
}

TEST_F(Relay, ARelayDestroyedWithRequestsOutstandingAnswersEachOfThem) {
  caf::scoped_actor self(sys_);
  const caf::actor t = sys_.spawn(target, caf::actor(self));
  Outcomes outcomes;
  {
    RequestRelay relay(sys_, std::chrono::hours(1));
    for (int i = 0; i < 3; ++i) {
      relay.request(t, caf::make_message(hold_atom::value), RelayAnswer::text, outcomes.add());
    }
    for (int i = 0; i < 3; ++i) self->receive([](held_atom) {});
  }
  const std::vector<RelayOutcome> got = outcomes.wait(3);
  ASSERT_EQ(got.size(), 3u);
  for (const RelayOutcome& o : got) {
    EXPECT_EQ(o.kind, RelayOutcome::Kind::stopped);
    EXPECT_NE(o.reason.find("the node is stopping"), std::string::npos) << o.reason;
  }
  caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace mgraph::node
