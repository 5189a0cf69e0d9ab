#include "policy/net.hpp"

#include <gtest/gtest.h>

using namespace gatehouse::policy;

namespace {

std::vector<cidr> list(const char* text) {
  auto l = parse_cidr_list(text);
  EXPECT_TRUE(l) << text;
  return l ? *l : std::vector<cidr>{};
}

} // namespace

TEST(net, parse_ip) {
  EXPECT_TRUE(parse_ip("10.0.0.1"));
  EXPECT_FALSE(parse_ip("10.0.0.1")->v6);
  EXPECT_TRUE(parse_ip("::1")->v6);
  EXPECT_TRUE(parse_ip("fe80::1%eth0")->v6);
  EXPECT_EQ(to_string(*parse_ip("2001:DB8:0:0::1")), "2001:db8::1");
  // IPv4-mapped addresses from dual-stack sockets become IPv4.
  auto mapped = parse_ip("::ffff:192.0.2.1");
  ASSERT_TRUE(mapped);
  EXPECT_FALSE(mapped->v6);
  EXPECT_EQ(to_string(*mapped), "192.0.2.1");
  for (const char* bad : {"", "10.0.0", "10.0.0.256", "1.2.3.4.5", "::g",
                          "localhost", "10.0.0.1/8", " 10.0.0.1", "%eth0"})
    EXPECT_FALSE(parse_ip(bad)) << bad;
}

TEST(net, ipv4_cidrs) {
  auto net = parse_cidr("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->prefix_len, 8);
  EXPECT_TRUE(cidr_contains(*net, "10.0.0.1"));
  EXPECT_TRUE(cidr_contains(*net, "10.255.255.255"));
  EXPECT_FALSE(cidr_contains(*net, "11.0.0.0"));
  EXPECT_FALSE(cidr_contains(*net, "9.255.255.255"));
  auto odd = parse_cidr("192.168.1.128/25");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(cidr_contains(*odd, "192.168.1.200"));
  EXPECT_FALSE(cidr_contains(*odd, "192.168.1.127"));
  // Host bits are cleared.
  auto host_bits = parse_cidr("172.16.5.4/12");
  ASSERT_TRUE(host_bits);
  EXPECT_EQ(to_string(host_bits->network), "172.16.0.0");
  EXPECT_TRUE(cidr_contains(*host_bits, "172.31.255.255"));
  EXPECT_FALSE(cidr_contains(*host_bits, "172.32.0.0"));
  auto any = parse_cidr("0.0.0.0/0");
  ASSERT_TRUE(any);
  EXPECT_TRUE(cidr_contains(*any, "8.8.8.8"));
  EXPECT_FALSE(cidr_contains(*any, "::1"));
}

TEST(net, bare_addresses_are_single_hosts) {
  auto v4 = parse_cidr("127.0.0.1");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->prefix_len, 32);
  EXPECT_TRUE(cidr_contains(*v4, "127.0.0.1"));
  EXPECT_FALSE(cidr_contains(*v4, "127.0.0.2"));
  auto v6 = parse_cidr("::1");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->prefix_len, 128);
  EXPECT_TRUE(cidr_contains(*v6, "::1"));
  EXPECT_TRUE(cidr_contains(*v6, "0:0:0:0:0:0:0:1"));
  EXPECT_FALSE(cidr_contains(*v6, "::2"));
}

TEST(net, ipv6_cidrs) {
  auto net = parse_cidr("fd00::/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(cidr_contains(*net, "fd12:3456::1"));
  EXPECT_FALSE(cidr_contains(*net, "fe80::1"));
  auto doc = parse_cidr("2001:db8::/32");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(cidr_contains(*doc, "2001:db8:ffff::1"));
  EXPECT_FALSE(cidr_contains(*doc, "2001:db9::1"));
  EXPECT_FALSE(cidr_contains(*doc, "10.0.0.1"));
  auto odd = parse_cidr("2001:db8::/33");
  ASSERT_TRUE(odd);
  EXPECT_TRUE(cidr_contains(*odd, "2001:db8:7fff::1"));
  EXPECT_FALSE(cidr_contains(*odd, "2001:db8:8000::1"));
  EXPECT_TRUE(cidr_contains(*parse_cidr("::/0"), "2001:db8::1"));
  // A mapped IPv4 peer matches an IPv4 network.
  EXPECT_TRUE(cidr_contains(*parse_cidr("10.0.0.0/8"), "::ffff:10.1.2.3"));
}

TEST(net, bad_cidrs) {
  for (const char* bad :
       {"", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/8/8",
        "10.0.0.0/a", "::/129", "fe80::1%eth0/64", "10.0.0/8", "example.com",
        "10.0.0.0/0008"})
    EXPECT_FALSE(parse_cidr(bad)) << bad;
  EXPECT_FALSE(cidr_contains(*parse_cidr("10.0.0.0/8"), "not-an-ip"));
}

TEST(net, cidr_lists) {
  EXPECT_TRUE(parse_cidr_list("")->empty());
  EXPECT_TRUE(parse_cidr_list("  ")->empty());
  auto l = parse_cidr_list("10.0.0.0/8, 192.168.0.0/16 ,::1");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->size(), 3u);
  EXPECT_FALSE(parse_cidr_list("10.0.0.0/8,"));
  EXPECT_FALSE(parse_cidr_list(",10.0.0.0/8"));
  EXPECT_FALSE(parse_cidr_list("10.0.0.0/8,,::1"));
  EXPECT_FALSE(parse_cidr_list("10.0.0.0/8,bogus"));
  EXPECT_FALSE(parse_cidr_list("all"));
}

TEST(net, untrusted_peer_ignores_forwarded_for) {
  auto trusted = list("10.0.0.0/8");
  EXPECT_EQ(resolve_client_ip("203.0.113.9", "198.51.100.1", trusted),
            "203.0.113.9");
  EXPECT_EQ(resolve_client_ip("203.0.113.9", "", {}), "203.0.113.9");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "198.51.100.1", {}), "10.0.0.2");
}

TEST(net, trusted_peer_without_header_is_the_client) {
  auto trusted = list("10.0.0.0/8");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "", trusted), "10.0.0.2");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "  ", trusted), "10.0.0.2");
}

TEST(net, walks_forwarded_for_right_to_left) {
  auto trusted = list("10.0.0.0/8, 2001:db8::/32");
  // One proxy.
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "198.51.100.1", trusted),
            "198.51.100.1");
  // The client forged a leftmost entry; the proxies appended the real one.
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3",
                              trusted),
            "198.51.100.1");
  // IPv6 entries and a bracketed form with a port.
  EXPECT_EQ(resolve_client_ip("2001:db8::1", "2001:db8::2, 2a00:1450::5",
                              trusted),
            "2a00:1450::5");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "[2a00:1450::5]:443", trusted),
            "2a00:1450::5");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "198.51.100.1:5555", trusted),
            "198.51.100.1");
  // Empty entries are skipped.
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "198.51.100.1,,", trusted),
            "198.51.100.1");
  // Mapped peer address.
  EXPECT_EQ(resolve_client_ip("::ffff:10.0.0.2", "198.51.100.1", trusted),
            "198.51.100.1");
}

TEST(net, all_trusted_gives_leftmost) {
  auto trusted = list("10.0.0.0/8");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "10.0.0.9, 10.0.0.5", trusted),
            "10.0.0.9");
}

TEST(net, garbage_stops_at_nearest_trusted_hop) {
  auto trusted = list("10.0.0.0/8");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "198.51.100.1, garbage, 10.0.0.7",
                              trusted),
            "10.0.0.7");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "<script>", trusted), "10.0.0.2");
}

// Found by the validators fuzzer (tests/fuzz/regressions): the system
// parser stops at a NUL byte, so text after one went unseen.
TEST(net, nul_byte_is_not_an_address) {
  using namespace std::string_literals;
  EXPECT_FALSE(parse_ip("1.2.3.4\0junk"s));
  EXPECT_FALSE(parse_ip("::1\0"s));
  EXPECT_FALSE(parse_cidr("10.0.0.0\0/8"s));
  EXPECT_FALSE(parse_cidr("::755\0\0\0%55555"s));
  EXPECT_FALSE(parse_cidr_list("10.0.0.0/8, 1.2.3.4\0"s));
  auto trusted = list("10.0.0.0/8");
  EXPECT_EQ(resolve_client_ip("10.0.0.2", "198.51.100.1\0, 10.0.0.7"s,
                              trusted),
            "10.0.0.7");
}

// Found by the validators fuzzer (tests/fuzz/regressions): the setting
// check accepted "::ffff:10.0.0.0/104" for --trusted-proxies but the parser
// refused it, and the node then trusted no proxy at all.
TEST(net, mapped_network_takes_an_ipv6_prefix) {
  auto net = parse_cidr("::ffff:10.0.0.0/104");
  ASSERT_TRUE(net);
  EXPECT_FALSE(net->network.v6);
  EXPECT_EQ(net->prefix_len, 8);
  EXPECT_TRUE(cidr_contains(*net, "10.200.0.1"));
  EXPECT_TRUE(cidr_contains(*net, "::ffff:10.1.2.3"));
  EXPECT_FALSE(cidr_contains(*net, "11.0.0.1"));
  auto host = parse_cidr("::FFFF:192.0.2.7/128");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_len, 32);
  EXPECT_EQ(parse_cidr("::ffff:192.0.2.7")->prefix_len, 32);
  EXPECT_FALSE(parse_cidr("::ffff:10.0.0.0/95"));
  EXPECT_FALSE(parse_cidr("::ffff:10.0.0.0/129"));
  EXPECT_TRUE(parse_cidr_list("::ffff:10.0.0.0/104, 192.168.0.0/16"));
  EXPECT_EQ(parse_cidr("10.0.0.0/8")->prefix_len, 8);
  EXPECT_FALSE(parse_cidr("10.0.0.0/33"));
}
