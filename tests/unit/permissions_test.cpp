#include "policy/permissions.hpp"

#include <gtest/gtest.h>

using namespace gatehouse::policy;

namespace {

constexpr role roles[] = {role::owner, role::admin, role::member, role::viewer};

} // namespace

TEST(permissions, assign_role_matrix) {
  // allowed[actor][current][new], in the order owner, admin, member, viewer.
  constexpr bool allowed[4][4][4] = {
    // owner: anything.
    {{1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}, {1, 1, 1, 1}},
    // admin: never owners, never to owner.
    {{0, 0, 0, 0}, {0, 1, 1, 1}, {0, 1, 1, 1}, {0, 1, 1, 1}},
    // member: nothing.
    {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}},
    // viewer: nothing.
    {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}},
  };
  for (int a = 0; a < 4; ++a)
    for (int c = 0; c < 4; ++c)
      for (int n = 0; n < 4; ++n)
        EXPECT_EQ(may_assign_role(roles[a], roles[c], roles[n]),
                  allowed[a][c][n])
          << to_string(roles[a]) << " sets " << to_string(roles[c]) << " to "
          << to_string(roles[n]);
}

TEST(permissions, spot_checks_of_assignment) {
  EXPECT_TRUE(may_assign_role(role::owner, role::member, role::owner));
  EXPECT_TRUE(may_assign_role(role::owner, role::owner, role::viewer));
  EXPECT_TRUE(may_assign_role(role::admin, role::viewer, role::admin));
  EXPECT_TRUE(may_assign_role(role::admin, role::admin, role::member));
  EXPECT_FALSE(may_assign_role(role::admin, role::member, role::owner));
  EXPECT_FALSE(may_assign_role(role::admin, role::owner, role::admin));
  EXPECT_FALSE(may_assign_role(role::admin, role::owner, role::owner));
  EXPECT_FALSE(may_assign_role(role::member, role::viewer, role::member));
  EXPECT_FALSE(may_assign_role(role::viewer, role::viewer, role::viewer));
}

TEST(permissions, manage_member_matrix) {
  // allowed[actor][target], in the order owner, admin, member, viewer.
  constexpr bool allowed[4][4] = {
    {1, 1, 1, 1},
    {0, 1, 1, 1},
    {0, 0, 0, 0},
    {0, 0, 0, 0},
  };
  for (int a = 0; a < 4; ++a)
    for (int t = 0; t < 4; ++t)
      EXPECT_EQ(may_manage_member(roles[a], roles[t]), allowed[a][t])
        << to_string(roles[a]) << " manages " << to_string(roles[t]);
}

TEST(permissions, last_owner_matrix) {
  for (auto r : roles)
    for (bool active : {false, true})
      for (int owners : {0, 1, 2, 3})
        for (bool removes : {false, true}) {
          bool refused = r == role::owner && active && owners <= 1 && removes;
          EXPECT_EQ(check_last_owner(r, active, owners, removes),
                    refused ? last_owner_check::would_remove_last_owner
                            : last_owner_check::ok)
            << to_string(r) << " active=" << active << " owners=" << owners
            << " removes=" << removes;
        }
}

TEST(permissions, last_owner_cases) {
  using c = last_owner_check;
  // Demoting, suspending or deleting the only active owner.
  EXPECT_EQ(check_last_owner(role::owner, true, 1, true),
            c::would_remove_last_owner);
  // Another active owner remains.
  EXPECT_EQ(check_last_owner(role::owner, true, 2, true), c::ok);
  // A suspended owner is not among the active ones.
  EXPECT_EQ(check_last_owner(role::owner, false, 1, true), c::ok);
  // Keeping owner rights (e.g. owner to owner) is always fine.
  EXPECT_EQ(check_last_owner(role::owner, true, 1, false), c::ok);
  // Non-owners never hold the last owner rights.
  EXPECT_EQ(check_last_owner(role::admin, true, 1, true), c::ok);
  EXPECT_EQ(check_last_owner(role::admin, true, 0, true), c::ok);
  // Inconsistent counts err on the safe side.
  EXPECT_EQ(check_last_owner(role::owner, true, 0, true),
            c::would_remove_last_owner);
  EXPECT_EQ(check_last_owner(role::owner, true, -1, true),
            c::would_remove_last_owner);
}
