// The roles of cluster clients (session/access.hpp): read applies reads only, write and
// admin every kind; names round-trip and nothing else parses.

#include <gtest/gtest.h>

#include "mgraph/session/access.hpp"

namespace mgraph::session {
namespace {

bool is_read(OpKind kind) {
  return kind == OpKind::get || kind == OpKind::explain || kind == OpKind::dot ||
         kind == OpKind::invalid;
}

TEST(Access, ReadAppliesReadsOnlyWriteAndAdminApplyEveryKind) {
  for (std::size_t k = 0; k < kOpKinds; ++k) {
    const auto kind = static_cast<OpKind>(k);
    SCOPED_TRACE(op_kind_name(kind));
    EXPECT_EQ(may_apply(Role::read, kind), is_read(kind));
    EXPECT_TRUE(may_apply(Role::write, kind));
    EXPECT_TRUE(may_apply(Role::admin, kind));
  }
}

TEST(Access, PermitNamesTheFirstOperationTheRoleMayNotApply) {
  Batch batch(4);
  batch[0].kind = OpKind::get;
  batch[1].kind = OpKind::dot;
  batch[2].kind = OpKind::remove;
  batch[3].kind = OpKind::commit;
  const Status s = permit(Role::read, batch);
  EXPECT_EQ(s.to_string(), "permission denied: role read cannot write (operation 2: delete)");
  EXPECT_TRUE(permit(Role::write, batch).is_ok());
  EXPECT_TRUE(permit(Role::admin, batch).is_ok());
  batch.resize(2);
  EXPECT_TRUE(permit(Role::read, batch).is_ok());
  EXPECT_TRUE(permit(Role::read, Batch{}).is_ok());
}

TEST(Access, RoleNamesRoundTripAndNothingElseParses) {
  for (Role r : {Role::read, Role::write, Role::admin}) EXPECT_EQ(parse_role(role_name(r)), r);
  for (const char* bad : {"", "Read", "READ", "reader", "admin ", " write", "none"})
    EXPECT_EQ(parse_role(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace mgraph::session
