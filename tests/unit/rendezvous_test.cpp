#include "policy/rendezvous.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace gatehouse::policy;

namespace {

std::vector<std::string> org_ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("org-" + std::to_string(i));
  return out;
}

std::map<std::string, std::string> homes(const std::vector<std::string>& nodes,
                                         const std::vector<std::string>& orgs) {
  std::map<std::string, std::string> out;
  for (const auto& org : orgs)
    out[org] = home_node(nodes, org);
  return out;
}

} // namespace

TEST(rendezvous, empty_member_list_has_no_home) {
  EXPECT_EQ(home_node({}, "org"), "");
}

TEST(rendezvous, answer_is_stable_and_ignores_member_order) {
  std::vector<std::string> a{"node-a", "node-b", "node-c"};
  std::vector<std::string> b{"node-c", "node-a", "node-b"};
  for (const auto& org : org_ids(500)) {
    auto h = home_node(a, org);
    EXPECT_EQ(h, home_node(a, org));
    EXPECT_EQ(h, home_node(b, org));
  }
  // The node id's length separates the two parts of the hash.
  EXPECT_NE(rendezvous_weight("ab", "c"), rendezvous_weight("a", "bc"));
}

TEST(rendezvous, balanced_over_three_nodes) {
  std::vector<std::string> nodes{"gatehouse-1", "gatehouse-2", "gatehouse-3"};
  std::map<std::string, int> count;
  const int n = 10000;
  for (const auto& org : org_ids(n))
    ++count[home_node(nodes, org)];
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [node, c] : count) {
    EXPECT_GT(c, n / 3 - n * 3 / 100) << node;
    EXPECT_LT(c, n / 3 + n * 3 / 100) << node;
  }
}

TEST(rendezvous, a_joining_node_takes_about_one_nth) {
  std::vector<std::string> three{"n1", "n2", "n3"};
  std::vector<std::string> four{"n1", "n2", "n3", "n4"};
  auto orgs = org_ids(10000);
  auto before = homes(three, orgs);
  auto after = homes(four, orgs);
  int moved = 0;
  for (const auto& org : orgs)
    if (before[org] != after[org]) {
      ++moved;
      // Only to the new node: no org moves between the old ones.
      EXPECT_EQ(after[org], "n4");
    }
  EXPECT_GT(moved, 2500 - 300);
  EXPECT_LT(moved, 2500 + 300);
}

TEST(rendezvous, a_leaving_node_hands_over_only_its_own_orgs) {
  std::vector<std::string> three{"n1", "n2", "n3"};
  std::vector<std::string> two{"n1", "n3"};
  auto orgs = org_ids(10000);
  auto before = homes(three, orgs);
  auto after = homes(two, orgs);
  int moved = 0;
  for (const auto& org : orgs)
    if (before[org] != after[org]) {
      ++moved;
      EXPECT_EQ(before[org], "n2");
    }
  EXPECT_GT(moved, 3333 - 300);
  EXPECT_LT(moved, 3333 + 300);
}
