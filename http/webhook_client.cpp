#include "http/webhook_client.hpp"

#include <memory>
#include <vector>

#include <netdb.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "policy/net.hpp"

namespace gatehouse::http {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

/// The receiver's answer may say why; only its head matters.
constexpr std::uint64_t max_answer_bytes = 64 * 1024;

actors::webhook_answer refused(std::string why) {
  return {std::nullopt, std::move(why)};
}

/// Runs the loop until the operation started on it finished.
void finish(net::io_context& ioc) {
  ioc.run();
  ioc.restart();
}

template <class Stream>
actors::webhook_answer exchange(net::io_context& ioc, Stream& stream,
                                beast::tcp_stream& tcp_layer,
                                const bhttp::request<bhttp::string_body>& req,
                                std::chrono::steady_clock::time_point end) {
  beast::error_code ec;
  tcp_layer.expires_at(end);
  bhttp::async_write(stream, req,
                     [&](beast::error_code e, std::size_t) { ec = e; });
  finish(ioc);
  if (ec)
    return refused("sending failed: " + ec.message());
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(max_answer_bytes);
  tcp_layer.expires_at(end);
  bhttp::async_read(stream, buf, parser,
                    [&](beast::error_code e, std::size_t) { ec = e; });
  finish(ioc);
  if (parser.is_header_done())
    return {parser.get().result_int(), ""};
  if (ec == beast::error::timeout)
    return refused("no answer within the timeout");
  return refused("no answer: " + (ec ? ec.message() : "closed"));
}

actors::webhook_answer post_once(const actors::webhook_post& p,
                                 net::ssl::context& tls,
                                 const policy::private_allowance& allow,
                                 std::chrono::seconds timeout) {
  auto parsed = policy::parse_base_url(p.url);
  if (auto* err = std::get_if<std::string>(&parsed))
    return refused("bad URL: " + *err);
  auto& u = std::get<policy::upstream_url>(parsed);
  if (policy::is_metadata_hostname(u.host) && !allow.all)
    return refused("metadata service addresses are not allowed");
  auto end = std::chrono::steady_clock::now() + timeout;
  net::io_context ioc;
  beast::error_code ec;
  std::vector<tcp::endpoint> endpoints;
  tcp::resolver resolver{ioc};
  resolver.async_resolve(
    u.host, std::to_string(u.port),
    [&](beast::error_code e, tcp::resolver::results_type results) {
      ec = e;
      for (auto& r : results)
        endpoints.push_back(r.endpoint());
    });
  finish(ioc);
  if (ec)
    return refused("cannot resolve '" + u.host + "': " + ec.message());
  std::vector<tcp::endpoint> allowed;
  for (auto& e : endpoints) {
    auto ip = policy::parse_ip(e.address().to_string());
    if (ip && policy::address_allowed(*ip, allow))
      allowed.push_back(e);
  }
  if (allowed.empty())
    return refused("'" + u.host
                   + "' resolves to an address that is not "
                     "allowed");
  beast::tcp_stream stream{ioc};
  stream.expires_at(end);
  stream.async_connect(
    allowed, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
  finish(ioc);
  if (ec)
    return refused(ec == beast::error::timeout
                     ? "no connection within the timeout"
                     : "cannot connect: " + ec.message());
  bhttp::request<bhttp::string_body> req{
    bhttp::verb::post, u.base_path.empty() ? "/" : u.base_path, 11};
  bool v6 = u.host.find(':') != std::string::npos;
  auto host = v6 ? "[" + u.host + "]" : u.host;
  bool default_port = (u.scheme == "https" && u.port == 443)
                      || (u.scheme == "http" && u.port == 80);
  req.set(bhttp::field::host,
          default_port ? host : host + ":" + std::to_string(u.port));
  for (auto& [name, value] : p.headers)
    req.set(name, value);
  req.set(bhttp::field::connection, "close");
  req.body() = p.body;
  req.prepare_payload();
  if (u.scheme != "https")
    return exchange(ioc, stream, stream, req, end);
  beast::ssl_stream<beast::tcp_stream> secure{std::move(stream), tls};
  if (!SSL_set_tlsext_host_name(secure.native_handle(), u.host.c_str()))
    return refused("TLS setup failed");
  secure.set_verify_callback(net::ssl::host_name_verification(u.host));
  auto& lowest = beast::get_lowest_layer(secure);
  lowest.expires_at(end);
  secure.async_handshake(net::ssl::stream_base::client,
                         [&](beast::error_code e) { ec = e; });
  finish(ioc);
  if (ec)
    return refused("TLS handshake failed: " + ec.message());
  return exchange(ioc, secure, lowest, req, end);
}

} // namespace

actors::webhook_poster make_webhook_poster(policy::private_allowance allow,
                                           std::chrono::seconds timeout) {
  auto tls = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
  tls->set_default_verify_paths();
  tls->set_verify_mode(net::ssl::verify_peer);
  return
    [tls, allow = std::move(allow), timeout](const actors::webhook_post& p) {
      try {
        return post_once(p, *tls, allow, timeout);
      } catch (const std::exception& e) {
        return refused(e.what());
      }
    };
}

} // namespace gatehouse::http
