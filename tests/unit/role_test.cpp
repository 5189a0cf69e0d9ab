#include "policy/role.hpp"

#include <gtest/gtest.h>

using namespace gatehouse::policy;

TEST(role, parse_and_print) {
  for (auto r : {role::owner, role::admin, role::member, role::viewer})
    EXPECT_EQ(parse_role(to_string(r)), r);
  EXPECT_EQ(to_string(role::owner), "owner");
  EXPECT_EQ(to_string(role::admin), "admin");
  EXPECT_EQ(to_string(role::member), "member");
  EXPECT_EQ(to_string(role::viewer), "viewer");
  EXPECT_FALSE(parse_role(""));
  EXPECT_FALSE(parse_role("Owner"));
  EXPECT_FALSE(parse_role("superuser"));
}

TEST(role, ranks) {
  EXPECT_EQ(rank(role::owner), 3);
  EXPECT_EQ(rank(role::admin), 2);
  EXPECT_EQ(rank(role::member), 1);
  EXPECT_EQ(rank(role::viewer), 0);
}

TEST(role, at_least_matrix) {
  const role all[] = {role::viewer, role::member, role::admin, role::owner};
  for (int have = 0; have < 4; ++have)
    for (int need = 0; need < 4; ++need)
      EXPECT_EQ(at_least(all[have], all[need]), have >= need)
        << to_string(all[have]) << " vs " << to_string(all[need]);
}
