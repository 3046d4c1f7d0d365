#pragma once
// A test fixture owning an actor system run by CAF's deterministic test scheduler: no
// thread runs an actor; a test runs the jobs itself (sched.run(), run_once()), in the
// order it chooses.

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

namespace mgraph::testing {

struct DeterministicSystem : ::testing::Test {
  DeterministicSystem() : sys(config()) {}
  static caf::actor_system_config& config() {
    static caf::actor_system_config cfg;
    cfg.set("scheduler.policy", caf::atom("testing"));
    return cfg;
  }
  caf::actor_system sys;
};

}  // namespace mgraph::testing
