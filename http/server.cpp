#include <chrono>
#include "http/server.hpp"

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/api_error.hpp"
#include "http/loop_types.hpp"
#include "http/runtime_impl.hpp"
#include "policy/ids.hpp"

namespace gatehouse::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class session;

/// How long aborted sessions get to settle before the loops stop.
constexpr std::chrono::milliseconds abort_grace{1500};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// A request id: time-ordered (UUID v7), as docs/api-notes.md says.
std::string new_request_id() {
  return policy::uuid_v7(
    std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch())
      .count());
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// SO_REUSEPORT: several sockets listen on one port, the kernel spreads
/// new connections over them.
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

/// The acceptor of one loop and the sessions it accepted. A connection is
/// accepted, registered and served by one thread: no loop wakes another
/// for it, and no lock is shared between loops.
struct listener {
  explicit listener(net::io_context& loop)
    : acceptor(loop.get_executor()), timer(loop.get_executor()) {
  }
  loop_acceptor acceptor;
  loop_timer timer; ///< the pause after a failed accept
  std::mutex mtx;          ///< sessions: this loop, and the drain
  std::vector<std::weak_ptr<session>> sessions;
};

} // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
  explicit impl(runtime::impl& r) : rt(r), ioc(r.main()) {
    for (auto& loop : r.loops)
      listeners.push_back(std::make_unique<listener>(*loop));
  }
  runtime::impl& rt;
  net::io_context& ioc; ///< signals, the drain
  std::vector<std::unique_ptr<listener>> listeners; ///< one per loop
  net::signal_set signals{ioc, SIGINT, SIGTERM};
  net::steady_timer drain_timer{ioc};
  std::chrono::steady_clock::time_point drain_deadline;
  server_limits limits;
  dispatch_fn dispatch;
  early_check_fn early_check;
  std::atomic<bool> draining{false};
  bool aborted = false; ///< sessions left at the grace's end were aborted
  std::atomic<int> live{0};
  std::vector<std::weak_ptr<session>> drained; ///< open when the drain began

  void listen(const tcp::endpoint& ep);
  void do_accept(listener& l);
  void refuse(loop_socket socket);
  void begin_drain();
  void check_drained();
};

namespace {

/// One client connection: reads a request, hands it to the dispatcher,
/// writes the answer (whole or as a chunked stream), and reads on while the
/// client keeps the connection alive.
class session : public client_channel,
                public std::enable_shared_from_this<session> {
public:
  session(loop_socket&& socket, std::shared_ptr<server::impl> srv)
    : stream_(std::move(socket)), srv_(std::move(srv)) {
    // Holds a request's head and what a client sends ahead; bodies pass
    // through it into the parser.
    buffer_.max_size(srv_->limits.header_bytes + 64 * 1024);
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      peer_ = ep.address().to_string();
    // Counted in `live` by the acceptor, which reserved its place.
  }

  ~session() override {
    --srv_->live;
  }

  void start() {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->do_read(); });
  }

  /// Closes the connection unless a request is being answered.
  void close_if_idle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      if (!self->busy_)
        self->stream_.socket().close(ec);
    });
  }

  /// Ends the connection whatever it is doing: a stream's relay hears of it
  /// as a shutdown, cancels its upstream and settles.
  void abort() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->client_lost(true);
      beast::error_code ec;
      self->stream_.socket().close(ec);
    });
  }

  // -- client_channel ------------------------------------------------------

  const std::string& request_id() const override {
    return request_id_;
  }

  void respond(http_response res) override {
    // The session waits idle for its answer (no operation pending, no
    // handler running), so the write may start on the caller's thread; its
    // completion runs on the session's loop.
    write(std::move(res), false);
  }

  void start_stream(http_response head, done_fn done) override {
    net::post(stream_.get_executor(), [self = shared_from_this(),
                                       head = std::move(head),
                                       done = std::move(done)]() mutable {
      self->do_start_stream(std::move(head), std::move(done));
    });
  }

  void write_chunk(std::string data, done_fn done) override {
    net::post(stream_.get_executor(), [self = shared_from_this(),
                                       data = std::move(data),
                                       done = std::move(done)]() mutable {
      self->do_write_chunk(std::move(data), std::move(done));
    });
  }

  void finish_stream(std::string tail) override {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), tail = std::move(tail)]() mutable {
                self->do_finish_stream(std::move(tail));
              });
  }

  void on_disconnect(disconnect_fn cb) override {
    net::post(stream_.get_executor(),
              [self = shared_from_this(), cb = std::move(cb)]() mutable {
                if (self->client_gone_)
                  cb(self->gone_for_shutdown_);
                else
                  self->disconnect_cb_ = std::move(cb);
              });
  }

private:
  void do_read() {
    if (srv_->draining)
      return do_close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_->limits.header_bytes));
    parser_->body_limit(srv_->limits.proxy_body_bytes);
    request_id_ = new_request_id();
    stream_.expires_after(srv_->limits.read_timeout);
    bhttp::async_read_header(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec)
      return on_error(ec);
    auto& req = parser_->get();
    bool proxied = starts_with(req.target(), "/v1/");
    auto limit = proxied ? srv_->limits.proxy_body_bytes
                         : srv_->limits.manage_body_bytes;
    auto len = parser_->content_length();
    if (len && *len > limit)
      return fail(policy::errc::payload_too_large, "request body too large");
    parser_->body_limit(limit);
    bool large = len ? *len >= early_check_body_bytes : parser_->chunked();
    if (large && proxied && srv_->early_check) {
      auto key = req.find("X-Gatehouse-Key");
      std::string_view target{req.target().data(), req.target().size()};
      std::optional<std::string_view> key_value;
      if (key != req.end())
        key_value = std::string_view{key->value().data(), key->value().size()};
      if (auto problem = srv_->early_check(
            target.substr(0, target.find('?')), key_value)) {
        busy_ = true;
        return write(error_response(*problem), true);
      }
    }
    if (lower(req[bhttp::field::expect]) == "100-continue") {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(
        bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(),
                          cont](beast::error_code ec, std::size_t) {
                           if (ec)
                             return self->do_close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    bhttp::async_read(
      stream_, buffer_, *parser_,
      beast::bind_front_handler(&session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec)
      return on_error(ec);
    busy_ = true;
    client_gone_ = false;
    disconnect_cb_ = nullptr;
    stream_.expires_never();
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    http_request r;
    r.method = std::string{req.method_string()};
    r.target = std::string{req.target()};
    split_target(r.target, r.path, r.query);
    r.headers.reserve(16);
    for (auto& field : req)
      r.headers.emplace_back(lower(field.name_string()),
                             std::string{field.value()});
    r.body = std::move(req.body());
    r.peer_ip = peer_;
    r.request_id = request_id_;
    srv_->dispatch(std::move(r), shared_from_this());
  }

  void on_error(beast::error_code ec) {
    if (ec == bhttp::error::body_limit)
      return fail(policy::errc::payload_too_large, "request body too large");
    if (ec == bhttp::error::header_limit) {
      auto res = error_response(policy::make_problem(
        policy::errc::invalid_request, "request headers too large"));
      res.status = 431;
      return write(std::move(res), true);
    }
    beast::error_code eos = bhttp::error::end_of_stream;
    if (ec.category() == eos.category() && ec != bhttp::error::end_of_stream
        && ec != bhttp::error::partial_message)
      return fail(policy::errc::invalid_request, "malformed HTTP request");
    do_close();
  }

  void fail(policy::errc code, std::string message) {
    busy_ = true;
    write(error_response(policy::make_problem(code, std::move(message))),
          true);
  }

  /// The answer when building the real one failed: a bug, answered as one.
  static http_response internal_error() {
    return error_response(policy::make_problem(
      policy::errc::internal_error, "internal error"));
  }

  template <class Message>
  void set_head(Message& msg, http_response& res) {
    msg.version(11);
    msg.result(static_cast<unsigned>(res.status));
    if (!res.content_type.empty())
      msg.set(bhttp::field::content_type, res.content_type);
    for (auto& [name, value] : res.headers)
      msg.set(name, value);
    msg.set("X-Gatehouse-Request-Id", request_id_);
  }

  bool closing() const {
    return !keep_alive_ || srv_->draining;
  }

  void write(http_response res, bool force_close) {
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    try {
      set_head(*msg, res);
    } catch (const std::exception& e) {
      // A header Beast refuses (too long, say): never the end of the node.
      spdlog::error("request {}: answer head refused: {}", request_id_,
                    e.what());
      msg = std::make_shared<bhttp::response<bhttp::string_body>>();
      res = internal_error();
      set_head(*msg, res);
    }
    msg->body() = std::move(res.body);
    bool close = force_close || closing();
    msg->keep_alive(!close);
    msg->prepare_payload();
    stream_.expires_after(srv_->limits.read_timeout);
    bhttp::async_write(stream_, *msg,
                       [self = shared_from_this(), msg,
                        close](beast::error_code ec, std::size_t) {
                         self->end_exchange(ec || close);
                       });
  }

  void end_exchange(bool close) {
    busy_ = false;
    // The callback holds whoever answered, which holds this session.
    disconnect_cb_ = nullptr;
    if (close)
      return do_close();
    do_read();
  }

  // -- streaming -----------------------------------------------------------

  /// Serializes the head of a chunked answer; it goes out with the first
  /// chunk (or the end), so that a stream arriving in one upstream read
  /// costs one write to the client.
  void do_start_stream(http_response head, done_fn done) {
    bhttp::response<bhttp::empty_body> msg;
    try {
      set_head(msg, head);
      msg.keep_alive(!closing());
      msg.chunked(true);
      stream_head_ = serialize_head(msg);
    } catch (const std::exception& e) {
      spdlog::error("request {}: stream head refused: {}", request_id_,
                    e.what());
      client_lost(false);
      return done(false);
    }
    // Nothing of the next request has come yet (the usual case): the read
    // buffer is not kept for the length of the stream.
    if (buffer_.size() == 0)
      buffer_.shrink_to_fit();
    watch_client();
    done(true);
  }

  static std::string serialize_head(bhttp::response<bhttp::empty_body>& msg) {
    std::string out;
    bhttp::response_serializer<bhttp::empty_body> sr{msg};
    sr.split(true);
    beast::error_code ec;
    while (!ec && !sr.is_header_done())
      sr.next(ec, [&](beast::error_code&, const auto& buffers) {
        for (auto b : beast::buffers_range_ref(buffers))
          out.append(static_cast<const char*>(b.data()), b.size());
        sr.consume(beast::buffer_bytes(buffers));
      });
    if (ec)
      throw beast::system_error{ec};
    return out;
  }

  /// Writes the pending head (if any), `data` as one chunk (if not empty)
  /// and, when `last`, the final chunk: one gathered write.
  template <class Done>
  void write_stream(std::string data, bool last, Done done) {
    auto parts = std::make_shared<std::array<std::string, 3>>();
    auto& [prefix, body, suffix] = *parts;
    prefix = std::move(stream_head_);
    stream_head_.clear();
    body = std::move(data);
    if (!body.empty()) {
      char size[20];
      auto n = std::snprintf(size, sizeof size, "%zx\r\n", body.size());
      prefix.append(size, static_cast<std::size_t>(n));
      suffix = "\r\n";
    }
    if (last)
      suffix += "0\r\n\r\n";
    std::array<net::const_buffer, 3> bufs{net::buffer(prefix),
                                          net::buffer(body),
                                          net::buffer(suffix)};
    stream_.expires_after(srv_->limits.read_timeout);
    net::async_write(stream_, bufs,
                     [self = shared_from_this(), parts,
                      done = std::move(done)](beast::error_code ec,
                                              std::size_t) mutable {
                       done(ec);
                     });
  }

  void do_write_chunk(std::string data, done_fn done) {
    if (client_gone_)
      return done(false);
    if (data.empty() && stream_head_.empty())
      return done(true);
    write_stream(std::move(data), false,
                 [self = shared_from_this(),
                  done = std::move(done)](beast::error_code ec) {
                   if (ec)
                     self->client_lost(false);
                   done(!ec);
                 });
  }

  void do_finish_stream(std::string tail) {
    if (client_gone_) {
      stop_watch_then([self = shared_from_this()] { self->end_exchange(true); });
      return;
    }
    write_stream(std::move(tail), true,
                 [self = shared_from_this()](beast::error_code ec) {
                   bool close = ec || self->closing();
                   self->stop_watch_then(
                     [self, close] { self->end_exchange(close); });
                 });
  }

  /// While a stream is open, a read on the client socket notices at once
  /// when the client goes away (it sends nothing else meanwhile).
  void watch_client() {
    // What a client pipelines during a stream waits in the bounded read
    // buffer; a client that fills it is not a client to keep.
    if (buffer_.max_size() - buffer_.size() < watch_bytes) {
      client_lost(false);
      beast::error_code ignored;
      stream_.socket().close(ignored);
      return;
    }
    watching_ = true;
    // Waits for the socket to turn readable without lending it a buffer:
    // a stream's client rarely sends anything before the end, and ten
    // thousand streams should not each keep a read buffer for it.
    stream_.socket().async_wait(
      tcp::socket::wait_read,
      [self = shared_from_this()](beast::error_code ec) {
        self->watching_ = false;
        if (!ec)
          ec = self->take_pipelined();
        if (!ec) {
          if (!self->after_watch_)
            return self->watch_client();
        } else if (ec != net::error::operation_aborted) {
          self->client_lost(false);
        }
        if (auto next = std::move(self->after_watch_)) {
          self->after_watch_ = nullptr;
          next();
        }
      });
  }

  /// Moves what a readable client socket holds into the read buffer (a
  /// pipelined request, kept for the next read); an error when the client
  /// closed or reset the connection.
  beast::error_code take_pipelined() {
    beast::error_code ec;
    auto& sock = stream_.socket();
    if (!sock.non_blocking())
      sock.non_blocking(true, ec);
    if (ec)
      return ec;
    auto n = sock.read_some(buffer_.prepare(watch_bytes), ec);
    if (ec == net::error::would_block || ec == net::error::try_again)
      return {}; // woken with nothing to read: wait again
    if (!ec)
      buffer_.commit(n);
    return ec;
  }

  /// Runs `next` once no watch read is pending.
  void stop_watch_then(std::function<void()> next) {
    if (!watching_)
      return next();
    after_watch_ = std::move(next);
    beast::error_code ec;
    stream_.socket().cancel(ec);
  }

  void client_lost(bool shutdown = false) {
    if (client_gone_)
      return;
    client_gone_ = true;
    gone_for_shutdown_ = shutdown;
    keep_alive_ = false;
    if (auto cb = std::move(disconnect_cb_)) {
      disconnect_cb_ = nullptr;
      cb(shutdown);
    }
  }

  /// Half-closes, then reads and discards what the client still sends (a
  /// body we refused, say) for a short while, so that the client gets to
  /// read our answer instead of a connection reset.
  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      stream_.socket().close(ec);
      return;
    }
    linger_left_ = max_linger_bytes;
    stream_.expires_after(linger_time);
    linger();
  }

  void linger() {
    auto buf = std::make_shared<std::array<char, 16 * 1024>>();
    stream_.async_read_some(
      net::buffer(*buf),
      [self = shared_from_this(), buf](beast::error_code ec, std::size_t n) {
        if (ec || n >= self->linger_left_) {
          beast::error_code ignored;
          self->stream_.socket().close(ignored);
          return;
        }
        self->linger_left_ -= n;
        self->linger();
      });
  }

  static constexpr std::size_t max_linger_bytes = 16 * 1024 * 1024;
  static constexpr std::size_t watch_bytes = 4096;
  static constexpr std::chrono::seconds linger_time{2};
  std::size_t linger_left_ = 0;

  loop_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<server::impl> srv_;
  std::string peer_;
  std::string request_id_;
  /// The head of a streamed answer until the first write carries it.
  std::string stream_head_;
  disconnect_fn disconnect_cb_;
  std::function<void()> after_watch_;
  bool keep_alive_ = true;
  std::atomic<bool> busy_{false};
  bool client_gone_ = false;
  bool gone_for_shutdown_ = false;
  bool watching_ = false;
};

} // namespace

void server::impl::refuse(loop_socket socket) {
  auto res = error_response(policy::make_problem(
    policy::errc::overloaded, "too many connections; try again later"));
  auto text = std::make_shared<std::string>(
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    "Retry-After: 1\r\nConnection: close\r\nX-Gatehouse-Request-Id: "
    + new_request_id() + "\r\nContent-Length: "
    + std::to_string(res.body.size()) + "\r\n\r\n" + res.body);
  auto sock = std::make_shared<loop_socket>(std::move(socket));
  net::async_write(*sock, net::buffer(*text),
                   [sock, text](beast::error_code, std::size_t) {
                     beast::error_code ignored;
                     sock->shutdown(tcp::socket::shutdown_both, ignored);
                     sock->close(ignored);
                   });
}

void server::impl::listen(const tcp::endpoint& ep) {
  // A plain socket first: it fails when anyone (another node too, whose
  // listeners would share the port with ours) already listens there, and
  // it picks the port when 0 was asked for.
  tcp::acceptor probe{ioc};
  probe.open(ep.protocol());
  probe.set_option(net::socket_base::reuse_address(true));
  probe.bind(ep);
  tcp::endpoint bound{ep.address(), probe.local_endpoint().port()};
  probe.close();
  for (auto& l : listeners) {
    l->acceptor.open(bound.protocol());
    l->acceptor.set_option(net::socket_base::reuse_address(true));
    l->acceptor.set_option(reuse_port(true));
    l->acceptor.bind(bound);
    l->acceptor.listen(net::socket_base::max_listen_connections);
  }
}

void server::impl::do_accept(listener& l) {
  // The connection stays on the loop that accepted it for its whole life.
  l.acceptor.async_accept([self = shared_from_this(), &l](beast::error_code ec,
                                                          loop_socket socket) {
    if (self->draining)
      return;
    if (ec == net::error::operation_aborted)
      return;
    if (ec) {
      // Out of file descriptors, say: pause instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      l.timer.expires_after(std::chrono::milliseconds(50));
      l.timer.async_wait([self, &l](beast::error_code) { self->do_accept(l); });
      return;
    }
    // Reserve the place first: the loops accept at the same time, and
    // only one of them may take the last place.
    if (static_cast<std::size_t>(self->live.fetch_add(1))
        >= self->limits.max_connections) {
      --self->live;
      self->refuse(std::move(socket));
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      auto s = std::make_shared<session>(std::move(socket), self);
      {
        std::lock_guard guard{l.mtx};
        // Forget ended sessions once they are most of the list.
        if (l.sessions.size() > 64
            && l.sessions.size() * self->listeners.size()
                 > 2 * static_cast<size_t>(self->live))
          l.sessions.erase(
            std::remove_if(l.sessions.begin(), l.sessions.end(),
                           [](auto& w) { return w.expired(); }),
            l.sessions.end());
        l.sessions.push_back(s);
      }
      s->start();
    }
    self->do_accept(l);
  });
}

void server::impl::begin_drain() {
  if (draining.exchange(true))
    return;
  spdlog::info("draining: no new connections, finishing in-flight requests");
  std::vector<std::shared_ptr<session>> open;
  for (auto& l : listeners) {
    // An acceptor is closed on its own loop.
    net::post(l->acceptor.get_executor(), [l = l.get()] {
      beast::error_code ec;
      l->acceptor.close(ec);
      l->timer.cancel();
    });
    std::lock_guard guard{l->mtx};
    for (auto& w : l->sessions)
      if (auto s = w.lock())
        open.push_back(std::move(s));
    drained.insert(drained.end(), l->sessions.begin(), l->sessions.end());
    l->sessions.clear();
  }
  for (auto& s : open)
    s->close_if_idle();
  drain_deadline = std::chrono::steady_clock::now() + limits.drain_grace;
  check_drained();
}

void server::impl::check_drained() {
  auto now = std::chrono::steady_clock::now();
  if (live > 0 && now >= drain_deadline && !aborted) {
    // Streams that outlive the grace end now; their relays settle the
    // partial usage, which takes a moment more.
    aborted = true;
    spdlog::warn("drain grace period over; ending {} connections",
                 live.load());
    for (auto& w : drained)
      if (auto s = w.lock())
        s->abort();
    drained.clear();
    drain_deadline = now + abort_grace;
  } else if (live == 0 || now >= drain_deadline) {
    if (live > 0)
      spdlog::warn("dropping {} connections that did not end",
                   live.load());
    rt.stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(20));
  drain_timer.async_wait(
    [self = shared_from_this()](beast::error_code) { self->check_drained(); });
}

server::server(runtime& rt, const std::string& host, unsigned short port,
               server_limits limits, dispatch_fn dispatch,
               early_check_fn early_check)
  : impl_(std::make_shared<impl>(rt.get())) {
  impl_->limits = limits;
  impl_->dispatch = std::move(dispatch);
  impl_->early_check = std::move(early_check);
  impl_->listen({net::ip::make_address(host), port});
}

server::~server() = default;

unsigned short server::port() const {
  return impl_->listeners.front()->acceptor.local_endpoint().port();
}

void server::run() {
  impl_->signals.async_wait(
    [self = impl_](beast::error_code ec, int) {
      if (!ec)
        self->begin_drain();
    });
  for (auto& l : impl_->listeners)
    net::post(l->acceptor.get_executor(),
              [self = impl_, l = l.get()] { self->do_accept(*l); });
  impl_->rt.run();
}

void server::stop() {
  net::post(impl_->ioc, [self = impl_] { self->begin_drain(); });
}

} // namespace gatehouse::http
