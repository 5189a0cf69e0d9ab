#include "http/upstream.hpp"

#include <openssl/ssl.h>

#include "policy/text.hpp"

namespace gatehouse::http {

namespace {

/// Idle connections kept per upstream; more are closed.
constexpr size_t max_idle_per_upstream = 128;

/// Bytes of a provider credential sent as a header value.
constexpr size_t max_auth_value_bytes = 8 * 1024;

} // namespace

std::string host_header(const actors::upstream_target& t) {
  bool default_port = (t.scheme == "https" && t.port == 443)
                      || (t.scheme == "http" && t.port == 80);
  return default_port ? t.host : t.host + ":" + std::to_string(t.port);
}

bool sendable_credential(const actors::upstream_target& t) {
  return policy::is_http_token(t.auth_header)
         && t.auth_value.size() <= max_auth_value_bytes
         && !policy::has_control_bytes(t.auth_value);
}

upstream_conn::upstream_conn(std::string key, plain stream)
  : key_(std::move(key)), stream_(std::move(stream)) {
}

upstream_conn::upstream_conn(std::string key, tls stream)
  : key_(std::move(key)), stream_(std::move(stream)) {
}

loop_stream& upstream_conn::tcp() {
  return std::visit(
    [](auto& s) -> loop_stream& { return beast::get_lowest_layer(s); },
    stream_);
}

loop_executor upstream_conn::executor() {
  return tcp().get_executor();
}

void upstream_conn::close() {
  beast::error_code ec;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
  tcp().socket().close(ec);
}

upstream_pool::upstream_pool(net::io_context& ioc,
                             policy::private_allowance allowed,
                             upstream_timeouts timeouts)
  : ioc_(ioc),
    tls_(net::ssl::context::tls_client),
    allowed_(std::move(allowed)),
    timeouts_(timeouts) {
  // Providers are verified against the system's CA store.
  tls_.set_default_verify_paths();
  tls_.set_verify_mode(net::ssl::verify_peer);
}

std::string upstream_pool::key_of(const actors::upstream_target& t) {
  return t.scheme + "://" + t.host + ":" + std::to_string(t.port);
}

void upstream_pool::acquire(const actors::upstream_target& t,
                            acquire_fn done) {
  auto key = key_of(t);
  {
    std::lock_guard guard{mtx_};
    auto i = idle_.find(key);
    while (i != idle_.end() && !i->second.empty()) {
      auto c = std::move(i->second.back());
      i->second.pop_back();
      if (c->tcp().socket().is_open())
        return done({}, std::move(c));
    }
  }
  connect(t, std::move(done));
}

void upstream_pool::connect(const actors::upstream_target& t,
                            acquire_fn done) {
  if (policy::is_metadata_hostname(t.host) && !allowed_.all)
    return done(net::error::access_denied, nullptr);
  // One thread runs each loop, so the loop's own executor serializes
  // every handler of the connection: no strand (and none of its locking).
  auto ex = ioc_.get_executor();
  // An address needs no resolver (whose single thread would queue every
  // connect of a burst behind one another).
  beast::error_code literal_ec;
  auto literal = net::ip::make_address(t.host, literal_ec);
  if (!literal_ec)
    return connect_to({tcp::endpoint{literal, t.port}}, t, ex,
                      std::move(done));
  auto resolver = std::make_shared<tcp::resolver>(ex);
  resolver->async_resolve(
    t.host, std::to_string(t.port),
    [this, t, ex, resolver,
     done = std::move(done)](beast::error_code ec,
                             tcp::resolver::results_type results) mutable {
      if (ec)
        return done(ec, nullptr);
      std::vector<tcp::endpoint> endpoints;
      for (auto& r : results)
        endpoints.push_back(r.endpoint());
      connect_to(std::move(endpoints), t, ex, std::move(done));
    });
}

void upstream_pool::connect_to(std::vector<tcp::endpoint> endpoints,
                               const actors::upstream_target& t,
                               net::io_context::executor_type ex,
                               acquire_fn done) {
  auto key = key_of(t);
  // The SSRF guard at connect time: a name may resolve elsewhere now than
  // when the provider was saved.
  std::vector<tcp::endpoint> allowed;
  for (auto& e : endpoints) {
    auto ip = policy::parse_ip(e.address().to_string());
    if (ip && policy::address_allowed(*ip, allowed_))
      allowed.push_back(e);
  }
  if (allowed.empty())
    return done(net::error::access_denied, nullptr);
  auto stream = std::make_shared<loop_stream>(ex);
  stream->expires_after(timeouts_.connect);
  stream->async_connect(
    allowed, [this, t, key, stream, done = std::move(done)](
               beast::error_code ec, const tcp::endpoint&) mutable {
      if (ec)
        return done(ec, nullptr);
      beast::error_code ignored;
      stream->socket().set_option(tcp::no_delay(true), ignored);
      stream->expires_never();
      if (t.scheme != "https")
        return done({},
                    std::make_shared<upstream_conn>(key, std::move(*stream)));
      auto tls = std::make_shared<upstream_conn::tls>(std::move(*stream), tls_);
      if (!SSL_set_tlsext_host_name(tls->native_handle(), t.host.c_str()))
        return done(net::error::invalid_argument, nullptr);
      tls->set_verify_callback(net::ssl::host_name_verification(t.host));
      beast::get_lowest_layer(*tls).expires_after(timeouts_.connect);
      tls->async_handshake(
        net::ssl::stream_base::client,
        [key, tls, done = std::move(done)](beast::error_code ec) mutable {
          if (ec)
            return done(ec, nullptr);
          beast::get_lowest_layer(*tls).expires_never();
          done({}, std::make_shared<upstream_conn>(key, std::move(*tls)));
        });
    });
}

void upstream_pool::release(conn_ptr c) {
  ++c->uses;
  std::lock_guard guard{mtx_};
  auto& q = idle_[c->key()];
  if (q.size() >= max_idle_per_upstream)
    return c->close();
  q.push_back(std::move(c));
}

} // namespace gatehouse::http
