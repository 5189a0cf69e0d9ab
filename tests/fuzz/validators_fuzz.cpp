// Every parser and validator that takes text from a request, a tenant's
// settings or the operator's configuration: addresses and networks, provider
// URLs, key scopes, session tokens, sign-up fields, timestamps, encodings,
// metric labels and the text helpers.
//
// Input: text. Functions of two texts get the parts before and after the
// first newline.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/values.hpp"
#include "fuzz_support.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/jwt.hpp"
#include "policy/net.hpp"
#include "policy/plan.hpp"
#include "policy/prometheus.hpp"
#include "policy/proxy_path.hpp"
#include "policy/role.hpp"
#include "policy/scopes.hpp"
#include "policy/ssrf.hpp"
#include "policy/text.hpp"
#include "policy/time.hpp"
#include "policy/validate.hpp"

namespace {

using namespace gatehouse;
using fuzz::echo_safe;
using policy::ip_address;

std::string lowercase(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// Network lists the setting check accepts and the parser refuses (see
// docs/testing.md): IPv4-mapped networks (with a prefix below 96) and
// prefixes of more than three digits ("10.0.0.0/0008"). Settings hold no
// NUL, where the check stops reading an address.
bool config_lenient(std::string_view t) {
  if (lowercase(std::string{t}).find("ffff") != std::string::npos)
    return true;
  for (auto slash = t.find('/'); slash != std::string_view::npos;
       slash = t.find('/', slash + 1)) {
    auto prefix
      = config::trim(t.substr(slash + 1, t.find(',', slash) - slash - 1));
    if (prefix.size() > 3)
      return true;
  }
  return false;
}

bool same_ip(const ip_address& a, const ip_address& b) {
  return a.v6 == b.v6 && a.bytes == b.bytes;
}

// 1..63 characters of [a-z0-9-], no '-' at either end, no "--".
bool is_slug(std::string_view s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-'
      || s.find("--") != std::string_view::npos)
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
  return true;
}

// A message that quotes input goes into an error answer as it is.
void check_message(const std::optional<std::string>& m) {
  if (m)
    FUZZ_CHECK(echo_safe(*m) && m->size() <= 512);
}

void addresses(std::string_view t) {
  if (auto ip = policy::parse_ip(t)) {
    auto text = policy::to_string(*ip);
    auto again = policy::parse_ip(text);
    FUZZ_CHECK(again && same_ip(*again, *ip));
    FUZZ_CHECK(policy::to_string(*again) == text);
    policy::is_non_public_address(*ip);
  }
  if (auto net = policy::parse_cidr(t)) {
    FUZZ_CHECK(net->prefix_len >= 0
               && net->prefix_len <= (net->network.v6 ? 128 : 32));
    FUZZ_CHECK(policy::cidr_contains(*net, net->network));
    auto text
      = policy::to_string(net->network) + "/" + std::to_string(net->prefix_len);
    auto again = policy::parse_cidr(text);
    FUZZ_CHECK(again && same_ip(again->network, net->network)
               && again->prefix_len == net->prefix_len);
  }
  auto list = policy::parse_cidr_list(t);
  // What the parser takes, the setting check at start-up takes too; the
  // reverse holds but for the check's known leniencies.
  if (t.find('\0') == std::string_view::npos) {
    if (list)
      FUZZ_CHECK(config::is_cidr_list(t));
    else if (config::is_cidr_list(t))
      FUZZ_CHECK(config_lenient(t));
  }
  if (auto allow = policy::parse_private_allowance(t)) {
    ip_address any;
    policy::address_allowed(any, *allow);
  }
}

void urls(std::string_view t) {
  auto parsed = policy::parse_base_url(t);
  if (auto* err = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(echo_safe(*err) && !err->empty());
    return;
  }
  auto& u = std::get<policy::upstream_url>(parsed);
  FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
  FUZZ_CHECK(!u.host.empty() && u.port != 0);
  FUZZ_CHECK(!policy::has_control_bytes(u.host)
             && u.host.find_first_of(" /?#@") == std::string::npos);
  FUZZ_CHECK(u.base_path.empty()
             || (u.base_path.front() == '/' && u.base_path.back() != '/'));
  FUZZ_CHECK(!policy::has_control_bytes(u.base_path));
  // What was parsed is parsed the same way again.
  auto host
    = u.host.find(':') == std::string::npos ? u.host : "[" + u.host + "]";
  auto again = policy::parse_base_url(u.scheme + "://" + host + ":"
                                      + std::to_string(u.port) + u.base_path);
  auto* v = std::get_if<policy::upstream_url>(&again);
  FUZZ_CHECK(v && v->host == u.host && v->port == u.port
             && v->base_path == u.base_path);
  if (auto ip = policy::parse_ip(u.host))
    policy::is_non_public_address(*ip);
  policy::is_metadata_hostname(u.host);
}

void scopes(std::string_view a, std::string_view b) {
  check_message(policy::validate_scope(a));
  std::vector<std::string> list{std::string{a}, "model:" + std::string{b}};
  policy::scopes_allow(list, a, b);
  if (!policy::validate_scope(a) && a == "*")
    FUZZ_CHECK(policy::scopes_allow({std::string{a}}, b, b));
}

void tokens(std::string_view a, std::string_view b) {
  static const std::string secret = "fuzz-secret-0123456789";
  if (auto c = policy::verify_jwt(a, secret, 1'700'000'000)) {
    FUZZ_CHECK(!c->sub.empty() && !c->org.empty());
    FUZZ_CHECK(c->exp > 1'700'000'000);
  }
  policy::verify_jwt(a, b, 0);
  policy::claims c{std::string{a}, std::string{b}, 1, 2'000'000'000};
  if (!c.sub.empty() && !c.org.empty() && echo_safe(a) && echo_safe(b)) {
    auto token = policy::sign_jwt(c, secret);
    auto back = policy::verify_jwt(token, secret, 1'700'000'000);
    FUZZ_CHECK(back && back->sub == c.sub && back->org == c.org);
  }
}

void account_fields(std::string_view t) {
  check_message(policy::validate_email(t));
  check_message(policy::validate_password(t));
  check_message(policy::validate_org_slug(t));
  check_message(policy::validate_display_name(t));
  check_message(policy::validate_provider_name(t));
  if (!policy::validate_email(t))
    FUZZ_CHECK(!policy::validate_email(policy::normalize_email(t)));
  FUZZ_CHECK(policy::is_valid_utf8(t) == policy::valid_utf8(t));
  auto trimmed = policy::trim(t);
  FUZZ_CHECK(policy::trim(trimmed) == trimmed);
  auto slug = policy::slugify(t);
  FUZZ_CHECK(is_slug(slug));
  for (int n : {0, 2, 10, 12345})
    FUZZ_CHECK(is_slug(policy::numbered_slug(slug, n)));
  policy::is_uuid(t);
  policy::parse_plan(t);
  policy::parse_feature(t);
  policy::parse_role(t);
  if (policy::is_api_key_format(t))
    FUZZ_CHECK(policy::key_prefix(t).size() == 12);
  policy::hash_fingerprint(t);
}

void encodings(std::string_view t) {
  if (auto raw = policy::from_hex(t))
    FUZZ_CHECK(raw->size() * 2 == t.size());
  if (auto raw = policy::base64url_decode(t)) {
    auto again = policy::base64url_decode(policy::base64url_encode(*raw));
    FUZZ_CHECK(again && *again == *raw);
  }
  static const std::string key(32, 'k');
  policy::aes_gcm_open(key, t, "provider:openai");
  if (auto s = policy::parse_rfc3339(t)) {
    auto back = policy::parse_rfc3339(policy::rfc3339(*s));
    FUZZ_CHECK(back && *back == *s);
    policy::utc_month_start(*s);
    FUZZ_CHECK(policy::seconds_to_next_utc_month(*s) >= 1);
  }
}

void text_helpers(std::string_view t) {
  auto clean = policy::clean_utf8(t);
  FUZZ_CHECK(echo_safe(clean));
  FUZZ_CHECK(policy::clean_utf8(clean) == clean);
  for (std::size_t cap : {0, 1, 3, 7, 64}) {
    auto cut = policy::clean_utf8(t, cap);
    FUZZ_CHECK(cut.size() <= cap && echo_safe(cut));
    FUZZ_CHECK(clean.substr(0, cut.size()) == cut);
    auto shown = policy::echo(t, cap);
    FUZZ_CHECK(echo_safe(shown) && !policy::has_control_bytes(shown));
    FUZZ_CHECK(shown.size() <= cap + 3);
  }
  if (policy::is_http_token(t))
    FUZZ_CHECK(!policy::has_control_bytes(t) && !t.empty());
  // Tenant text in a label value or help stays on its own line.
  if (policy::valid_utf8(t)) {
    policy::metrics_text m;
    m.gauge("gatehouse_fuzz", t, {{{{"org", std::string{t}}}, 1.0}});
    auto out = m.str();
    std::size_t lines = 0;
    for (char c : out)
      lines += c == '\n';
    FUZZ_CHECK(lines == 3);
  }
  policy::is_metric_name(t);
  policy::is_label_name(t);
}

// %XX decoded once, as an upstream would read the path.
std::string decode_once(std::string_view s) {
  auto hex = [](char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0
        && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A proxied path that passes stays below the provider's base path, also
// once decoded.
void proxied_paths(std::string_view t) {
  if (auto why = policy::proxied_path_problem(t)) {
    FUZZ_CHECK(echo_safe(*why));
    return;
  }
  auto decoded = decode_once(t);
  FUZZ_CHECK(decoded.find('\\') == std::string::npos);
  std::string_view rest = decoded;
  while (true) {
    auto slash = rest.find('/');
    auto segment = rest.substr(0, slash);
    FUZZ_CHECK(segment != "." && segment != "..");
    if (slash == std::string_view::npos)
      break;
    rest.remove_prefix(slash + 1);
  }
}

void config_values(std::string_view t) {
  if (auto hp = config::parse_listen(t))
    FUZZ_CHECK(!hp->host.empty() || t.front() == ':');
  if (auto v = config::parse_int_in_range(t, -5, 1000))
    FUZZ_CHECK(*v >= -5 && *v <= 1000);
  config::is_database_url(t);
  config::is_hex64(t);
  FUZZ_CHECK(config::trim(t) == policy::trim(t));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto t = fuzz::as_text(data, size);
  auto nl = t.find('\n');
  auto a = t.substr(0, nl);
  auto b = nl == std::string_view::npos ? std::string_view{} : t.substr(nl + 1);

  addresses(t);
  addresses(a);
  urls(t);
  scopes(a, b);
  tokens(a, b);
  account_fields(t);
  encodings(t);
  text_helpers(t);
  proxied_paths(t);
  config_values(t);
  std::vector<policy::cidr> trusted;
  if (auto nets = policy::parse_cidr_list(a))
    trusted = *nets;
  auto client = policy::resolve_client_ip("10.0.0.1", b, trusted);
  FUZZ_CHECK(policy::parse_ip(client).has_value());
  return 0;
}
