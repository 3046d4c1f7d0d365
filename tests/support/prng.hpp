#pragma once
// The tests draw every random choice from the project's one seeded generator, so a failure
// names a seed that reproduces it on any machine.

#include "mgraph/graph/prng.hpp"

namespace mgraph::testing {

using Prng = mgraph::Prng;

}  // namespace mgraph::testing
