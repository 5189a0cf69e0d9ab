// A fast OpenAI-compatible upstream for load tests.
//
// One process, N threads, each with its own io_context and its own
// SO_REUSEPORT acceptor, so the kernel spreads connections and a connection
// never changes threads. HTTP/1.1 keep-alive throughout.
//
//   POST /v1/chat/completions   non-streaming: a fixed small JSON with usage
//                               "stream": true: SSE, chunked encoding
//   GET  /v1/models             a small model list
//
// Streaming modes (header or query parameter; the header wins):
//   x-mock-chunks: N            / ?chunks=N      content chunks (default 8)
//   x-mock-chunk-delay-ms: D    / ?delay_ms=D    0 (default): everything in
//                               one write; else the first chunk at once and
//                               the next ones D ms apart, on asio timers
// A usage-only chunk follows the content only when the request body asked
// for `stream_options.include_usage`; then `data: [DONE]`.

#include <sys/resource.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr int max_chunks = 100000;
constexpr int max_delay_ms = 600000;

const std::string_view completion_json =
    R"({"id":"chatcmpl-mock","object":"chat.completion","created":1700000000,)"
    R"("model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"Hello from the mock."},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}})";

const std::string_view models_json =
    R"({"object":"list","data":[)"
    R"({"id":"gpt-4o-mini","object":"model","created":1721172741,"owned_by":"mock"},)"
    R"({"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"mock"}]})";

const std::string_view not_found_json =
    R"({"error":{"message":"not found","type":"invalid_request_error","code":"not_found"}})";

void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 10240)
    std::fprintf(stderr,
                 "mock: open-file limit is %llu; 10,000 connections need more "
                 "than 10,000\n",
                 static_cast<unsigned long long>(rl.rlim_cur));
}

int to_int(std::string_view s, int fallback) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    return fallback;
  return v;
}

/// The value of `name` in a query string ("a=1&b=2"), if present.
std::optional<std::string_view> query_param(std::string_view query,
                                            std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (part.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view{}
                                          : part.substr(eq + 1);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

void append_hex(std::string& out, std::size_t n) {
  char tmp[20];
  auto [p, ec] = std::to_chars(tmp, tmp + sizeof tmp, n, 16);
  out.append(tmp, p);
}

/// Appends `payload` as one HTTP chunk.
void append_chunk(std::string& out, std::string_view payload) {
  append_hex(out, payload.size());
  out += "\r\n";
  out += payload;
  out += "\r\n";
}

void append_content_chunk(std::string& out, int i) {
  // data: {"id":"c","choices":[{"index":0,"delta":{"content":"tok<i> "}}]}\n\n
  char ev[128];
  int n = std::snprintf(
      ev, sizeof ev,
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
      "\"tok%d \"}}]}\n\n",
      i);
  append_chunk(out, std::string_view(ev, static_cast<std::size_t>(n)));
}

void append_tail(std::string& out, int chunks, bool usage) {
  if (usage) {
    char ev[160];
    int n = std::snprintf(
        ev, sizeof ev,
        "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,"
        "\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
        chunks, chunks + 10);
    append_chunk(out, std::string_view(ev, static_cast<std::size_t>(n)));
  }
  append_chunk(out, "data: [DONE]\n\n");
  out += "0\r\n\r\n";
}

class session : public std::enable_shared_from_this<session> {
public:
  explicit session(tcp::socket sock)
      : sock_(std::move(sock)), timer_(sock_.get_executor()) {}

  void start() { read_request(); }

private:
  void read_request() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(8 * 1024 * 1024);
    http::async_read(sock_, buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec)
                         return self->close();
                       self->handle();
                     });
  }

  void handle() {
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    std::string_view query;
    if (auto q = target.find('?'); q != std::string_view::npos)
      query = target.substr(q + 1);

    out_.clear();
    if (req.method() == http::verb::post && path == "/v1/chat/completions") {
      const std::string& body = req.body();
      bool stream = body.find("\"stream\":true") != std::string::npos
                    || body.find("\"stream\": true") != std::string::npos;
      if (!stream)
        return write_whole("200 OK", "application/json", completion_json);
      usage_ = body.find("include_usage") != std::string::npos;
      chunks_ = 8;
      delay_ms_ = 0;
      if (auto v = query_param(query, "chunks"))
        chunks_ = to_int(*v, chunks_);
      if (auto v = query_param(query, "delay_ms"))
        delay_ms_ = to_int(*v, delay_ms_);
      if (auto it = req.find("x-mock-chunks"); it != req.end())
        chunks_ = to_int({it->value().data(), it->value().size()}, chunks_);
      if (auto it = req.find("x-mock-chunk-delay-ms"); it != req.end())
        delay_ms_ =
            to_int({it->value().data(), it->value().size()}, delay_ms_);
      chunks_ = std::clamp(chunks_, 0, max_chunks);
      delay_ms_ = std::clamp(delay_ms_, 0, max_delay_ms);
      return start_stream();
    }
    if (req.method() == http::verb::get && path == "/v1/models")
      return write_whole("200 OK", "application/json", models_json);
    write_whole("404 Not Found", "application/json", not_found_json);
  }

  void append_head(std::string_view status, std::string_view type) {
    out_ += "HTTP/1.1 ";
    out_ += status;
    out_ += "\r\nServer: mock\r\nContent-Type: ";
    out_ += type;
    out_ += "\r\n";
    if (!keep_alive_)
      out_ += "Connection: close\r\n";
  }

  void write_whole(std::string_view status, std::string_view type,
                   std::string_view body) {
    append_head(status, type);
    out_ += "Content-Length: ";
    out_ += std::to_string(body.size());
    out_ += "\r\n\r\n";
    out_ += body;
    write_then(true);
  }

  void start_stream() {
    append_head("200 OK", "text/event-stream");
    out_ += "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    next_ = 0;
    if (delay_ms_ == 0 || chunks_ <= 1) {
      for (int i = 0; i < chunks_; ++i)
        append_content_chunk(out_, i);
      append_tail(out_, chunks_, usage_);
      return write_then(true);
    }
    append_content_chunk(out_, next_++);
    write_then(false);
  }

  /// Writes out_; then either the exchange is over (next request or close)
  /// or the next paced chunk is due.
  void write_then(bool last) {
    net::async_write(sock_, net::buffer(out_),
                     [self = shared_from_this(), last](beast::error_code ec,
                                                       std::size_t) {
                       if (ec)
                         return self->close();
                       if (!last)
                         return self->wait_next_chunk();
                       if (!self->keep_alive_)
                         return self->close();
                       self->read_request();
                     });
  }

  void wait_next_chunk() {
    timer_.expires_after(std::chrono::milliseconds(delay_ms_));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec)
        return self->close();
      self->out_.clear();
      append_content_chunk(self->out_, self->next_++);
      bool last = self->next_ >= self->chunks_;
      if (last)
        append_tail(self->out_, self->chunks_, self->usage_);
      self->write_then(last);
    });
  }

  void close() {
    beast::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  tcp::socket sock_;
  net::steady_timer timer_;
  beast::flat_buffer buf_{16 * 1024};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string out_;
  bool keep_alive_ = true;
  bool usage_ = false;
  int chunks_ = 8;
  int delay_ms_ = 0;
  int next_ = 0;
};

class listener {
public:
  listener(net::io_context& ioc, const tcp::endpoint& ep)
      : acceptor_(ioc), backoff_(ioc) {
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    int one = 1;
    ::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one,
                 sizeof one);
    acceptor_.bind(ep);
    acceptor_.listen(65535);
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket sock) {
      if (!ec) {
        beast::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        std::make_shared<session>(std::move(sock))->start();
      } else if (ec == net::error::operation_aborted) {
        return;
      } else if (ec == net::error::no_descriptors
                 || ec == net::error::no_buffer_space) {
        // Out of file descriptors: retry shortly rather than spin.
        backoff_.expires_after(std::chrono::milliseconds(10));
        backoff_.async_wait([this](beast::error_code e) {
          if (!e)
            accept();
        });
        return;
      }
      accept();
    });
  }

  void stop() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

private:
  tcp::acceptor acceptor_;
  net::steady_timer backoff_;
};

void usage() {
  std::fprintf(stderr,
               "usage: mock_upstream [--port P] [--host 127.0.0.1] "
               "[--threads N]\n"
               "  --port 0 picks a free port; prints 'mock listening on "
               "PORT' when ready\n");
}

} // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 9100;
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string_view {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--port")
      port = to_int(value(), -1);
    else if (a == "--host")
      host = std::string(value());
    else if (a == "--threads")
      threads = to_int(value(), 0);
    else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "mock: unknown argument '%s'\n", argv[i]);
      usage();
      return 2;
    }
  }
  if (port < 0 || port > 65535 || threads < 1 || threads > 256) {
    usage();
    return 2;
  }
  raise_nofile();
  std::signal(SIGPIPE, SIG_IGN);

  try {
    std::vector<std::unique_ptr<net::io_context>> iocs;
    std::vector<std::unique_ptr<listener>> listeners;
    tcp::endpoint ep(net::ip::make_address(host),
                     static_cast<unsigned short>(port));
    for (int t = 0; t < threads; ++t) {
      iocs.push_back(std::make_unique<net::io_context>(1));
      listeners.push_back(std::make_unique<listener>(*iocs.back(), ep));
      // Every further acceptor joins the port the first one got.
      ep.port(listeners.front()->port());
      listeners.back()->accept();
    }

    net::signal_set signals(*iocs.front(), SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
      for (auto& ioc : iocs)
        ioc->stop();
    });

    std::printf("mock listening on %u\n", ep.port());
    std::fflush(stdout);

    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t)
      pool.emplace_back([&, t] { iocs[t]->run(); });
    iocs.front()->run();
    for (auto& ioc : iocs)
      ioc->stop();
    for (auto& th : pool)
      th.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mock: %s\n", e.what());
    return 1;
  }
  return 0;
}
