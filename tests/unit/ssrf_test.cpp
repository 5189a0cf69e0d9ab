#include "policy/ssrf.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace gatehouse::policy;

namespace {

ip_address ip(const char* text) {
  auto parsed = parse_ip(text);
  EXPECT_TRUE(parsed) << text;
  return parsed ? *parsed : ip_address{};
}

// The IPv4-mapped IPv6 form of `v4`, kept as IPv6 (parse_ip would turn it
// into IPv4).
ip_address mapped(const char* v4) {
  auto four = ip(v4);
  ip_address out;
  out.v6 = true;
  out.bytes[10] = 0xff;
  out.bytes[11] = 0xff;
  std::copy(four.bytes.begin(), four.bytes.begin() + 4, out.bytes.begin() + 12);
  return out;
}

bool non_public(const char* text) {
  return is_non_public_address(ip(text));
}

upstream_url parse_ok(const char* url) {
  auto result = parse_base_url(url);
  if (auto* error = std::get_if<std::string>(&result)) {
    ADD_FAILURE() << url << ": " << *error;
    return {};
  }
  return std::get<upstream_url>(result);
}

std::string parse_error(const char* url) {
  auto result = parse_base_url(url);
  if (std::holds_alternative<upstream_url>(result)) {
    ADD_FAILURE() << url << " should be refused";
    return "";
  }
  return std::get<std::string>(result);
}

private_allowance allowance(const char* setting) {
  auto a = parse_private_allowance(setting);
  EXPECT_TRUE(a) << setting;
  return a ? *a : private_allowance{};
}

} // namespace

TEST(ssrf, parse_simple_urls) {
  auto u = parse_ok("https://api.openai.com/v1");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "api.openai.com");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.base_path, "/v1");
  u = parse_ok("http://localhost:11434");
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, 11434);
  EXPECT_EQ(u.base_path, "");
  u = parse_ok("http://example.com");
  EXPECT_EQ(u.port, 80);
}

TEST(ssrf, parse_normalizes) {
  auto u = parse_ok("HTTPS://API.Anthropic.COM:8443/Some/Path///");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "api.anthropic.com");
  EXPECT_EQ(u.port, 8443);
  // The path keeps its case; trailing slashes go.
  EXPECT_EQ(u.base_path, "/Some/Path");
  EXPECT_EQ(parse_ok("https://h.example/").base_path, "");
  EXPECT_EQ(parse_ok("https://h.example//").base_path, "");
  EXPECT_EQ(parse_ok("https://h.example/openai/deployments/x%20y").base_path,
            "/openai/deployments/x%20y");
  EXPECT_EQ(parse_ok("http://my_host.internal.:80").host, "my_host.internal.");
  EXPECT_EQ(parse_ok("http://h:080").port, 80);
}

TEST(ssrf, parse_ip_hosts) {
  auto v4 = parse_ok("http://10.0.0.5:8000/v1");
  EXPECT_EQ(v4.host, "10.0.0.5");
  EXPECT_EQ(v4.port, 8000);
  auto v6 = parse_ok("https://[2001:DB8:0::1]:8443/x/");
  EXPECT_EQ(v6.host, "2001:db8::1");
  EXPECT_EQ(v6.port, 8443);
  EXPECT_EQ(v6.base_path, "/x");
  EXPECT_EQ(parse_ok("http://[::1]").host, "::1");
  EXPECT_EQ(parse_ok("http://[::1]").port, 80);
  // A mapped literal is an IPv4 host.
  EXPECT_EQ(parse_ok("http://[::ffff:127.0.0.1]/").host, "127.0.0.1");
}

TEST(ssrf, parse_ports) {
  EXPECT_EQ(parse_ok("http://h:1").port, 1);
  EXPECT_EQ(parse_ok("http://h:65535").port, 65535);
  for (const char* url :
       {"http://h:0", "http://h:65536", "http://h:", "http://h:-1",
        "http://h:99999", "http://h:8080x", "http://h:1:2", "http://h:+80",
        "http://[::1]:", "http://[::1]:0", "http://[::1]x",
        "http://h:000000080"}) {
    EXPECT_FALSE(parse_error(url).empty()) << url;
  }
}

TEST(ssrf, parse_refusals) {
  for (const char* url : {
         "",
         "api.openai.com",
         "//api.openai.com",
         "ftp://example.com",
         "file:///etc/passwd",
         "gopher://h/",
         "httpx://h",
         "https:/h",
         "https://",
         "https:///path",
         "https://:443",
         "https://user@h",
         "https://user:pass@h/",
         "https://h@evil.example",
         "https://h/path?x=1",
         "https://h/path#frag",
         "https://h?",
         "https://h /",
         "https://h/a b",
         "https://h\t/",
         "https://h/\n",
         "https://h\\@evil/",
         "https://h\\evil",
         "https://ex\xc3\xa4mple.com",
         "https://exa$mple.com",
         "https://h..example",
         "https://.example",
         "https://.",
         "https://-.",
         "https://[::1",
         "https://[]",
         "https://[10.0.0.1]",
         "https://[fe80::1%25eth0]",
         "https://[fe80::1%eth0]",
         "https://10.0.0.1%eth0",
         "https://[gg::1]",
         "https://::1/",
       }) {
    EXPECT_FALSE(parse_error(url).empty()) << url;
  }
  EXPECT_EQ(parse_error("https://u@h"), "URL may not contain user information");
  EXPECT_EQ(parse_error("ftp://h"), "URL scheme must be http or https");
}

TEST(ssrf, parse_refuses_ambiguous_numeric_hosts) {
  for (const char* url :
       {"http://2130706433/", "http://127.1/", "http://0x7f.0.0.1/",
        "http://0x7f000001/", "http://017700000001/", "http://10.0.0.010/",
        "http://1.2.3/", "http://1.2.3.4.5/", "http://host.0x10/",
        "http://example.123/", "http://0x/"}) {
    EXPECT_FALSE(parse_error(url).empty()) << url;
  }
  // Numbers elsewhere in a name are fine.
  EXPECT_EQ(parse_ok("http://123.example.com").host, "123.example.com");
  EXPECT_EQ(parse_ok("http://1password.example").host, "1password.example");
  EXPECT_EQ(parse_ok("http://0xdeadbeef.example").host, "0xdeadbeef.example");
  EXPECT_EQ(parse_ok("http://host.0xg").host, "host.0xg");
}

TEST(ssrf, host_name_limits) {
  std::string label(63, 'a');
  EXPECT_EQ(parse_ok(("http://" + label + ".example").c_str()).host,
            label + ".example");
  EXPECT_FALSE(parse_error(("http://" + label + "a.example").c_str()).empty());
  std::string long_name;
  for (int i = 0; i < 64; ++i)
    long_name += "abc.";
  long_name += "com";
  EXPECT_FALSE(parse_error(("http://" + long_name).c_str()).empty());
}

TEST(ssrf, ipv4_ranges_with_edges) {
  struct range {
    const char* below;
    const char* first;
    const char* last;
    const char* above;
  };
  for (const auto& r : std::vector<range>{
         {nullptr, "0.0.0.0", "0.255.255.255", "1.0.0.0"},
         {"9.255.255.255", "10.0.0.0", "10.255.255.255", "11.0.0.0"},
         {"100.63.255.255", "100.64.0.0", "100.127.255.255", "100.128.0.0"},
         {"126.255.255.255", "127.0.0.0", "127.255.255.255", "128.0.0.0"},
         {"169.253.255.255", "169.254.0.0", "169.254.255.255", "169.255.0.0"},
         {"172.15.255.255", "172.16.0.0", "172.31.255.255", "172.32.0.0"},
         {"192.167.255.255", "192.168.0.0", "192.168.255.255", "192.169.0.0"},
         {"223.255.255.255", "224.0.0.0", "239.255.255.255", nullptr},
         {nullptr, "240.0.0.0", "255.255.255.255", nullptr},
       }) {
    if (r.below) {
      EXPECT_FALSE(non_public(r.below)) << r.below;
    }
    EXPECT_TRUE(non_public(r.first)) << r.first;
    EXPECT_TRUE(non_public(r.last)) << r.last;
    if (r.above) {
      EXPECT_FALSE(non_public(r.above)) << r.above;
    }
  }
  EXPECT_TRUE(non_public("169.254.169.254"));
  EXPECT_TRUE(non_public("127.0.0.1"));
  EXPECT_TRUE(non_public("100.100.100.200"));
  for (const char* pub : {"8.8.8.8", "1.1.1.1", "104.18.6.192", "52.1.2.3",
                          "192.0.2.1", "198.51.100.7", "223.255.255.255"})
    EXPECT_FALSE(non_public(pub)) << pub;
}

TEST(ssrf, ipv6_ranges_with_edges) {
  EXPECT_TRUE(non_public("::"));
  EXPECT_TRUE(non_public("::1"));
  EXPECT_TRUE(non_public("::2"));
  EXPECT_TRUE(non_public("::ffff"));
  // IPv4-compatible (deprecated) forms.
  EXPECT_TRUE(non_public("::8.8.8.8"));
  EXPECT_TRUE(non_public("0:0:0:0:0:1::"));
  // Unique local fc00::/7.
  EXPECT_TRUE(non_public("fc00::"));
  EXPECT_TRUE(non_public("fd12:3456::1"));
  EXPECT_TRUE(non_public("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(non_public("fd00:ec2::254"));
  // Link-local fe80::/10 and former site-local fec0::/10.
  EXPECT_TRUE(non_public("fe80::"));
  EXPECT_TRUE(non_public("fe80::1"));
  EXPECT_TRUE(non_public("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(non_public("fec0::1"));
  EXPECT_TRUE(non_public("feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  // Multicast ff00::/8.
  EXPECT_TRUE(non_public("ff00::"));
  EXPECT_TRUE(non_public("ff02::1"));
  EXPECT_TRUE(non_public("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  // Public unicast is 2000::/3; the unassigned rest is not public.
  EXPECT_TRUE(non_public("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(non_public("2000::"));
  EXPECT_FALSE(non_public("3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_TRUE(non_public("4000::"));
  EXPECT_TRUE(non_public("1::"));
  EXPECT_TRUE(non_public("fb00::1"));
  for (const char* pub : {"2001:4860:4860::8888", "2606:4700::1111",
                          "2a00:1450:4001::200e", "2001:db8::1"})
    EXPECT_FALSE(non_public(pub)) << pub;
}

TEST(ssrf, embedded_ipv4) {
  // IPv4-mapped addresses kept as IPv6 are judged by their IPv4 part.
  for (const char* inner :
       {"127.0.0.1", "10.1.2.3", "169.254.169.254", "192.168.1.1", "172.16.0.1",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255"}) {
    EXPECT_TRUE(is_non_public_address(mapped(inner))) << inner;
  }
  EXPECT_FALSE(is_non_public_address(mapped("8.8.8.8")));
  EXPECT_FALSE(is_non_public_address(mapped("100.128.0.0")));
  // parse_ip already turns mapped text into IPv4.
  EXPECT_TRUE(non_public("::ffff:127.0.0.1"));
  EXPECT_TRUE(non_public("::ffff:a9fe:a9fe"));
  EXPECT_FALSE(non_public("::ffff:8.8.4.4"));
  // NAT64 well-known prefix.
  EXPECT_TRUE(non_public("64:ff9b::127.0.0.1"));
  EXPECT_TRUE(non_public("64:ff9b::a9fe:a9fe"));
  EXPECT_FALSE(non_public("64:ff9b::8.8.8.8"));
  // 6to4 embeds the IPv4 address right after 2002:.
  EXPECT_TRUE(non_public("2002:7f00:1::"));
  EXPECT_TRUE(non_public("2002:a00:1::1"));
  EXPECT_FALSE(non_public("2002:808:808::1"));
}

TEST(ssrf, parse_private_allowance) {
  auto none = allowance("");
  EXPECT_FALSE(none.all);
  EXPECT_TRUE(none.nets.empty());
  EXPECT_TRUE(allowance("   ").nets.empty());
  EXPECT_TRUE(allowance("all").all);
  EXPECT_TRUE(allowance(" ALL ").all);
  auto nets = allowance("10.0.0.0/8, 192.168.1.0/24 ,fd00::/8");
  EXPECT_FALSE(nets.all);
  EXPECT_EQ(nets.nets.size(), 3u);
  EXPECT_EQ(allowance("127.0.0.1").nets.size(), 1u);
  for (const char* bad : {"al", "all,10.0.0.0/8", "10.0.0.0/33", "10.0.0.0/8,",
                          "yes", "10.0.0.0/8;10.1.0.0/16", "*"})
    EXPECT_FALSE(parse_private_allowance(bad)) << bad;
}

TEST(ssrf, address_allowed) {
  auto none = allowance("");
  EXPECT_TRUE(address_allowed(ip("8.8.8.8"), none));
  EXPECT_TRUE(address_allowed(ip("2606:4700::1111"), none));
  EXPECT_FALSE(address_allowed(ip("127.0.0.1"), none));
  EXPECT_FALSE(address_allowed(ip("169.254.169.254"), none));
  EXPECT_FALSE(address_allowed(ip("fd00:ec2::254"), none));
  EXPECT_FALSE(address_allowed(mapped("10.0.0.1"), none));

  auto all = allowance("all");
  EXPECT_TRUE(address_allowed(ip("127.0.0.1"), all));
  EXPECT_TRUE(address_allowed(ip("169.254.169.254"), all));
  EXPECT_TRUE(address_allowed(ip("::1"), all));

  auto some = allowance("10.1.0.0/16,127.0.0.1,fd12::/16");
  EXPECT_TRUE(address_allowed(ip("10.1.255.255"), some));
  EXPECT_FALSE(address_allowed(ip("10.2.0.0"), some));
  EXPECT_TRUE(address_allowed(ip("127.0.0.1"), some));
  EXPECT_FALSE(address_allowed(ip("127.0.0.2"), some));
  EXPECT_TRUE(address_allowed(ip("fd12::5"), some));
  EXPECT_FALSE(address_allowed(ip("fd13::5"), some));
  EXPECT_FALSE(address_allowed(ip("169.254.169.254"), some));
  EXPECT_TRUE(address_allowed(ip("1.2.3.4"), some));
  // A mapped address matches the IPv4 networks.
  EXPECT_TRUE(address_allowed(mapped("10.1.2.3"), some));
  EXPECT_FALSE(address_allowed(mapped("10.2.2.3"), some));
}

TEST(ssrf, metadata_hostnames) {
  for (const char* host :
       {"metadata", "metadata.google.internal", "METADATA.Google.Internal",
        "metadata.google.internal.", "metadata.goog", "instance-data",
        "instance-data.ec2.internal", "metadata."}) {
    EXPECT_TRUE(is_metadata_hostname(host)) << host;
  }
  for (const char* host : {"", ".", "api.openai.com", "metadata.example.com",
                           "my-metadata", "metadata.google.internal.evil.com",
                           "metadata..", "169.254.169.254", "localhost"}) {
    EXPECT_FALSE(is_metadata_hostname(host)) << host;
  }
}
