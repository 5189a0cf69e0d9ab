#include "policy/ids.hpp"

#include "policy/validate.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace gatehouse::policy;

TEST(ids, uuid_v4_shape) {
  for (int i = 0; i < 200; ++i) {
    auto id = uuid_v4();
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a'
                || id[19] == 'b')
      << id;
    for (char c : id)
      EXPECT_FALSE(c >= 'A' && c <= 'F') << id;
  }
}

TEST(ids, uuid_v4_unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i)
    seen.insert(uuid_v4());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(ids, uuid_v7_shape_and_time) {
  const long long ms = 1764806400123; // 2025-12-04T00:00:00.123Z
  for (int i = 0; i < 200; ++i) {
    auto id = uuid_v7(ms);
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a'
                || id[19] == 'b')
      << id;
    // The first 48 bits are the milliseconds, big-endian.
    EXPECT_EQ(id.substr(0, 8) + id.substr(9, 4), "019ae6a8987b") << id;
  }
}

TEST(ids, uuid_v7_unique_and_time_ordered) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i)
    seen.insert(uuid_v7(1764806400000));
  EXPECT_EQ(seen.size(), 1000u);
  // Later milliseconds sort later whatever the random bits.
  for (int i = 0; i < 100; ++i)
    EXPECT_LT(uuid_v7(1764806400000 + i), uuid_v7(1764806400001 + i));
  EXPECT_LT(uuid_v7(0), uuid_v7(1));
}
