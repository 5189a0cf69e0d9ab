// Raw bytes from a client, through what the server does with a request
// before any handler or actor runs: Beast's parser with the server's limits,
// target splitting and decoding, route matching, the client address behind
// proxies, the management body check, the proxy's header checks and
// provider selection, and every error answer that echoes request text.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "fuzz_support.hpp"
#include "http/api_error.hpp"
#include "http/json_fields.hpp"
#include "http/message.hpp"
#include "http/routes.hpp"
#include "policy/json_parse.hpp"
#include "policy/net.hpp"
#include "policy/provider_select.hpp"
#include "policy/proxy_body.hpp"
#include "policy/proxy_path.hpp"
#include "policy/text.hpp"

namespace {

namespace bhttp = boost::beast::http;
using boost::beast::error_code;
using gatehouse::fuzz::echo_safe;
using namespace gatehouse;

// The server's limits (http/server.hpp).
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t proxy_body_limit = 8 * 1024 * 1024;
constexpr std::size_t manage_body_limit = 1024 * 1024;
// The default of the JSON depth setting.
constexpr int max_depth = policy::default_json_depth;

using parser_t = bhttp::request_parser<bhttp::string_body>;

// The connection ended: as Beast's read does, a message not begun is the
// end of the stream, one begun must be complete.
void eof(parser_t& p, error_code& ec) {
  if (!p.got_some()) {
    ec = bhttp::error::end_of_stream;
    return;
  }
  p.put_eof(ec);
}

// Feeds `rest` to `p` until the header (or the whole message) is done, as
// Beast's read loop does when the connection has nothing more to give.
void feed(parser_t& p, std::string_view& rest, bool header_only,
          error_code& ec) {
  auto done = [&] { return header_only ? p.is_header_done() : p.is_done(); };
  while (!done()) {
    if (rest.empty()) {
      eof(p, ec);
      return;
    }
    auto n = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(n);
    if (ec == bhttp::error::need_more) {
      ec = {};
      if (n == 0) {
        eof(p, ec);
        return;
      }
    } else if (ec) {
      return;
    }
  }
}

// An error answer is JSON whose message is clean text: the message itself
// when it was clean and short.
void check_answer(policy::errc code, const std::string& message) {
  auto res = http::error_response(policy::make_problem(code, message));
  auto back = nlohmann::json::parse(res.body, nullptr, false);
  FUZZ_CHECK(back.is_object() && back["message"].is_string());
  auto shown = back["message"].get<std::string>();
  FUZZ_CHECK(echo_safe(shown));
  if (echo_safe(message) && message.size() <= 1024)
    FUZZ_CHECK(shown == message);
}

// The text helpers' promises on one piece of request text.
void check_text(std::string_view s) {
  auto clean = policy::clean_utf8(s);
  FUZZ_CHECK(echo_safe(clean));
  FUZZ_CHECK(policy::clean_utf8(clean) == clean);
  if (echo_safe(s))
    FUZZ_CHECK(clean == s);
  auto capped = policy::clean_utf8(s, 64);
  FUZZ_CHECK(capped.size() <= 64 && echo_safe(capped));
  auto shown = policy::echo(s);
  FUZZ_CHECK(echo_safe(shown) && !policy::has_control_bytes(shown));
  FUZZ_CHECK(shown.size() <= 128 + 3);
}

const std::vector<policy::cidr>& trusted_proxies() {
  static const auto nets
    = *policy::parse_cidr_list("10.0.0.0/8, 192.168.0.0/16, ::1, fd00::/8");
  return nets;
}

// The client address is a canonical address whatever X-Forwarded-For says.
void check_client_ip(std::string_view peer, std::string_view xff) {
  auto ip = policy::resolve_client_ip(peer, xff, trusted_proxies());
  auto parsed = policy::parse_ip(ip);
  FUZZ_CHECK(parsed.has_value());
  FUZZ_CHECK(policy::to_string(*parsed) == ip);
}

bool is_proxy_path(std::string_view path) {
  return path == "/v1" || path.substr(0, 4) == "/v1/";
}

// What the proxy checks before it asks the org actor (http/proxy.cpp).
void proxy_checks(const http::http_request& req) {
  if (auto why = policy::proxied_path_problem(req.path)) {
    check_answer(policy::errc::invalid_request, *why);
    return;
  }
  FUZZ_CHECK(req.path.find("/../") == std::string::npos
             && req.path.find("\\") == std::string::npos
             && !policy::has_control_bytes(req.path));
  if (auto m = req.header("x-gatehouse-metadata")) {
    nlohmann::json j;
    if (policy::parse_json(*m, max_depth, j) == policy::json_fault::none
        && j.is_object())
      FUZZ_CHECK(echo_safe(http::dump_json(j)));
  }
  auto info = policy::inspect_body(req.body, max_depth);
  if (info.fault != policy::json_fault::none) {
    check_answer(policy::errc::invalid_request,
                 std::string{"request body "} + policy::describe(info.fault));
    return;
  }
  policy::selection_input in;
  if (auto h = req.header("x-gatehouse-provider"))
    in.header_provider = std::string{*h};
  in.model = info.model;
  in.path = req.path;
  in.auto_detection = true;
  in.providers = {"openai", "anthropic", "mistral"};
  auto chosen = policy::select_provider(in);
  if (auto* p = std::get_if<policy::problem>(&chosen)) {
    FUZZ_CHECK(echo_safe(p->message));
    check_answer(p->code, p->message);
  }
}

// What the dispatcher and a management handler do with a matched route.
void route_checks(const http::http_request& req) {
  auto m = http::match_route(req.method, req.path);
  if (!m.r) {
    check_answer(policy::errc::not_found, "no such route");
    return;
  }
  for (auto& [name, value] : m.params) {
    FUZZ_CHECK(!value.empty() && value.find('/') == std::string::npos);
    check_answer(policy::errc::not_found,
                 name + " '" + policy::echo(value) + "' not found");
  }
  if (req.method != "POST" && req.method != "PUT")
    return;
  try {
    auto body = http::parse_body(req.body, max_depth);
    http::json_fields fields{body, {"name", "description", "metadata"}};
    fields.optional_string("name");
    fields.optional_int("metadata", 0, 100);
    FUZZ_CHECK(echo_safe(http::dump_json(body)));
  } catch (const http::api_error& e) {
    check_answer(e.problem.code, e.problem.message);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  auto rest = gatehouse::fuzz::as_text(data, size);
  parser_t p;
  p.header_limit(static_cast<std::uint32_t>(header_limit));
  p.body_limit(proxy_body_limit);
  error_code ec;
  feed(p, rest, true, ec);
  if (ec)
    return 0;
  auto limit = p.get().target().substr(0, 4) == "/v1/" ? proxy_body_limit
                                                       : manage_body_limit;
  if (auto len = p.content_length(); len && *len > limit)
    return 0;
  p.body_limit(limit);
  feed(p, rest, false, ec);
  if (ec)
    return 0;
  FUZZ_CHECK(p.is_done());

  auto msg = p.release();
  http::http_request req;
  req.method = std::string{msg.method_string()};
  req.target = std::string{msg.target()};
  http::split_target(req.target, req.path, req.query);
  FUZZ_CHECK(req.target.substr(0, req.path.size()) == req.path);
  FUZZ_CHECK(req.path.find('?') == std::string::npos);
  for (auto& field : msg) {
    std::string name{field.name_string()};
    for (char& c : name)
      if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
    req.headers.emplace_back(std::move(name), std::string{field.value()});
  }
  req.body = std::move(msg.body());
  req.peer_ip = "10.1.2.3";

  auto decoded = http::percent_decode(req.path, false);
  FUZZ_CHECK(decoded.size() <= req.path.size());
  check_text(req.target);
  check_text(decoded);
  check_answer(policy::errc::not_found,
               "nothing at '" + policy::echo(decoded) + "'");
  for (auto& [k, v] : req.query) {
    check_text(k);
    check_text(v);
  }

  // Every line of X-Forwarded-For, one by one and joined.
  std::string all_forwarded;
  for (auto& [name, value] : req.headers) {
    check_text(value);
    if (name != "x-forwarded-for")
      continue;
    check_client_ip(req.peer_ip, value);
    check_client_ip("203.0.113.9", value);
    if (!all_forwarded.empty())
      all_forwarded += ", ";
    all_forwarded += value;
  }
  check_client_ip(req.peer_ip, all_forwarded);

  if (is_proxy_path(req.path))
    proxy_checks(req);
  else
    route_checks(req);
  return 0;
}
