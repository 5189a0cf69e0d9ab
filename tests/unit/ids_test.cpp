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
