#include "config/help.hpp"
#include "config/settings.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

using namespace gatehouse::config;

namespace {

using env_map = std::map<std::string, std::string>;

const char* const pg = "postgresql://u@127.0.0.1:5432/db";
const char* const secret = "0123456789abcdef-cluster";

invocation parse_args(std::vector<const char*> args, const env_map& env) {
  args.insert(args.begin(), "gatehouse");
  return parse_invocation(static_cast<int>(args.size()), args.data(), env);
}

std::string error_of(std::vector<const char*> args, const env_map& env) {
  try {
    parse_args(std::move(args), env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

} // namespace

TEST(cluster_settings, single_node_by_default_with_the_host_name) {
  auto inv = parse_args({}, {});
  EXPECT_FALSE(inv.cfg.cluster_mode());
  EXPECT_FALSE(inv.cfg.node_id.empty());
  EXPECT_TRUE(inv.cfg.cluster_peers.empty());
}

TEST(cluster_settings, flags_and_environment_set_the_cluster) {
  auto inv = parse_args({"--database", pg, "--node-id", "gh-1",
                         "--cluster-listen", "10.0.0.1:7400", "--cluster-peers",
                         "10.0.0.2:7400, [fd00::3]:7400"},
                        {{"GATEHOUSE_CLUSTER_SECRET", secret}});
  EXPECT_TRUE(inv.cfg.cluster_mode());
  EXPECT_EQ(inv.cfg.node_id, "gh-1");
  EXPECT_EQ(inv.cfg.cluster_listen_host, "10.0.0.1");
  EXPECT_EQ(inv.cfg.cluster_listen_port, 7400);
  EXPECT_EQ(inv.cfg.cluster_peers,
            (std::vector<std::string>{"10.0.0.2:7400", "[fd00::3]:7400"}));
  EXPECT_EQ(inv.cfg.cluster_secret, secret);
  auto env = parse_args({}, {{"GATEHOUSE_NODE_ID", "gh-2"},
                             {"GATEHOUSE_DATABASE_URL", pg},
                             {"GATEHOUSE_CLUSTER_LISTEN", "127.0.0.1:7401"},
                             {"GATEHOUSE_CLUSTER_SECRET", secret}});
  EXPECT_EQ(env.cfg.node_id, "gh-2");
  EXPECT_EQ(env.cfg.cluster_listen_port, 7401);
}

TEST(cluster_settings, cluster_mode_refuses_sqlite_and_a_missing_secret) {
  auto sqlite = error_of({"--cluster-listen", "127.0.0.1:7400"},
                         {{"GATEHOUSE_CLUSTER_SECRET", secret}});
  EXPECT_TRUE(contains(sqlite, "needs PostgreSQL")) << sqlite;
  auto no_secret
    = error_of({"--database", pg, "--cluster-listen", "127.0.0.1:7400"}, {});
  EXPECT_TRUE(contains(no_secret, "GATEHOUSE_CLUSTER_SECRET")) << no_secret;
  auto peers_alone = error_of({"--cluster-peers", "127.0.0.1:7400"}, {});
  EXPECT_TRUE(contains(peers_alone, "--cluster-listen")) << peers_alone;
  // Other commands do not serve, so they need no cluster settings.
  EXPECT_EQ(error_of({"migrate", "--cluster-listen", "127.0.0.1:7400"}, {}),
            "");
}

TEST(cluster_settings, cluster_traffic_is_served_on_a_private_interface) {
  auto with = [](const char* listen) {
    return error_of({"--database", pg, "--cluster-listen", listen},
                    {{"GATEHOUSE_CLUSTER_SECRET", secret}});
  };
  for (const char* ok :
       {"127.0.0.1:7400", "10.1.2.3:7400", "172.16.0.1:7400",
        "172.31.255.254:7400", "192.168.1.1:7400", "100.64.0.7:7400",
        "169.254.3.4:7400", "[::1]:7400", "[fd12::1]:7400", "[fe80::1]:7400",
        "localhost:7400"})
    EXPECT_EQ(with(ok), "") << ok;
  for (const char* bad :
       {"0.0.0.0:7400", "[::]:7400", "8.8.8.8:7400", "172.32.0.1:7400",
        "192.169.0.1:7400", "100.128.0.1:7400", "[2001:db8::1]:7400",
        "gateway.example.com:7400"}) {
    auto e = with(bad);
    EXPECT_TRUE(contains(e, "private interface")) << bad << ": " << e;
  }
}

TEST(cluster_settings, bad_values_are_refused_and_the_secret_never_echoed) {
  EXPECT_NE(error_of({"--node-id", "a b"}, {}), "");
  EXPECT_NE(error_of({"--cluster-listen", "127.0.0.1"}, {}), "");
  EXPECT_NE(error_of({"--cluster-listen", "127.0.0.1:0"}, {}), "");
  EXPECT_NE(error_of({"--cluster-peers", "a:1,b"}, {}), "");
  auto short_secret = error_of({}, {{"GATEHOUSE_CLUSTER_SECRET", "tiny-s3"}});
  EXPECT_TRUE(contains(short_secret, "GATEHOUSE_CLUSTER_SECRET"));
  EXPECT_FALSE(contains(short_secret, "tiny-s3"));
  // The secret has no flag.
  EXPECT_NE(error_of({"--cluster-secret", secret}, {}), "");
}

TEST(cluster_settings, help_names_the_cluster_settings) {
  auto help = help_text();
  for (const char* text :
       {"--node-id ID", "--cluster-listen HOST:PORT", "--cluster-peers",
        "GATEHOUSE_CLUSTER_SECRET=SECRET", "GATEHOUSE_CLUSTER_PEERS"})
    EXPECT_TRUE(contains(help, text)) << text;
}
