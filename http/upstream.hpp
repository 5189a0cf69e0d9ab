#pragma once

// The upstream side of the proxy: pooled keep-alive connections to
// providers, plain or TLS. Speaks Beast: include only from .cpp files.

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "actors/messages.hpp"
#include "http/loop_types.hpp"
#include "policy/ssrf.hpp"

namespace gatehouse::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// Timeouts of upstream exchanges.
struct upstream_timeouts {
  std::chrono::seconds connect{10};
  std::chrono::seconds response{300}; ///< until the head, and between reads
};

/// The `Host` header value for `t` (the port only when not the scheme's).
std::string host_header(const actors::upstream_target& t);

/// True if `t`'s stored credential can be sent as a header (a token for a
/// name, a bounded value without control bytes). Values are validated when
/// saved; this guards the bytes of the request line once more.
bool sendable_credential(const actors::upstream_target& t);

/// One connection to a provider; owned by one exchange at a time.
class upstream_conn {
public:
  using plain = loop_stream;
  using tls = beast::ssl_stream<loop_stream>;

  upstream_conn(std::string key, plain stream);
  upstream_conn(std::string key, tls stream);

  /// The pool key ("scheme://host:port").
  const std::string& key() const {
    return key_;
  }

  /// The executor of the loop every operation of this connection runs on.
  loop_executor executor();

  /// The underlying TCP stream (timeouts, closing).
  loop_stream& tcp();

  /// Calls `f` with the plain or TLS stream.
  template <class F>
  decltype(auto) visit(F&& f) {
    return std::visit(std::forward<F>(f), stream_);
  }

  /// Closes the socket; pending operations fail at once.
  void close();

  /// How many exchanges it served (0 for a fresh connection).
  int uses = 0;

private:
  std::string key_;
  std::variant<plain, tls> stream_;
};

/// Keep-alive connections per upstream, with the SSRF guard applied to every
/// address connected to.
class upstream_pool {
public:
  using conn_ptr = std::shared_ptr<upstream_conn>;
  using acquire_fn = std::function<void(beast::error_code, conn_ptr)>;

  upstream_pool(net::io_context& ioc, policy::private_allowance allowed,
                upstream_timeouts timeouts);

  /// An idle connection to `t`, or a new one (resolved, address-checked,
  /// connected, TLS handshake done). Errors: `net::error::access_denied`
  /// when every address of the host is refused by the SSRF guard,
  /// `beast::error::timeout`, or the socket's error.
  void acquire(const actors::upstream_target& t, acquire_fn done);

  /// A new connection, never an idle one.
  void connect(const actors::upstream_target& t, acquire_fn done);

  /// Returns a connection that finished an exchange cleanly.
  void release(conn_ptr c);

  const upstream_timeouts& timeouts() const {
    return timeouts_;
  }

private:
  static std::string key_of(const actors::upstream_target& t);

  /// Connects to the first of `endpoints` the SSRF guard allows.
  void connect_to(std::vector<tcp::endpoint> endpoints,
                  const actors::upstream_target& t,
                  net::io_context::executor_type ex,
                  acquire_fn done);

  net::io_context& ioc_;
  net::ssl::context tls_;
  policy::private_allowance allowed_;
  upstream_timeouts timeouts_;
  std::mutex mtx_;
  std::map<std::string, std::deque<conn_ptr>> idle_;
};

} // namespace gatehouse::http
