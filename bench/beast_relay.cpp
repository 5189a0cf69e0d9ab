// The floor of Gatehouse's HTTP stack: a reverse proxy built from the same
// parts as the gateway's data plane (Boost.Beast messages and parsers over
// Asio, one io_context per thread, an SO_REUSEPORT acceptor per thread,
// keep-alive on both sides, the loops' concrete executor) and nothing
// else: no authentication, no JSON, no governance, no log.
//
// bench/run.sh measures it next to nginx and Gatehouse: what Gatehouse
// costs beyond this relay is what its own work costs; what this relay
// costs beyond nginx is the price of the HTTP library.
//
//   beast_relay --upstream HOST:PORT [--port P] [--threads N]
//
// Prints "relay listening on PORT" when ready. Every request is sent to
// the upstream as it came (Host rewritten) over one upstream connection
// per client connection; the answer is read whole (bodies of the bench are
// small; a streamed answer arrives in one write) and written back.

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

using executor = net::io_context::executor_type;
using stream = beast::basic_stream<tcp, executor>;
using socket_t = net::basic_stream_socket<tcp, executor>;
using acceptor_t = net::basic_socket_acceptor<tcp, executor>;
using reuse_port = net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

struct options {
  std::string upstream_host = "127.0.0.1";
  unsigned short upstream_port = 0;
  unsigned short port = 0;
  int threads = 1;
};

/// One client connection and its upstream connection.
class session : public std::enable_shared_from_this<session> {
public:
  session(socket_t&& s, const tcp::endpoint& upstream, std::string host)
    : client_(std::move(s)), upstream_(client_.get_executor()),
      target_(upstream), host_(std::move(host)) {
  }

  void start() {
    upstream_.async_connect(
      target_, [self = shared_from_this()](beast::error_code ec) {
        if (ec)
          return;
        self->upstream_.socket().set_option(tcp::no_delay(true));
        self->read_request();
      });
  }

private:
  void read_request() {
    req_ = {};
    http::async_read(client_, client_buf_, req_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec)
                         return self->close();
                       self->forward();
                     });
  }

  void forward() {
    keep_alive_ = req_.keep_alive();
    req_.set(http::field::host, host_);
    req_.keep_alive(true);
    http::async_write(upstream_, req_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        if (ec)
                          return self->close();
                        self->read_response();
                      });
  }

  void read_response() {
    res_ = {};
    http::async_read(upstream_, upstream_buf_, res_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 std::size_t) {
                       if (ec)
                         return self->close();
                       self->answer();
                     });
  }

  void answer() {
    res_.keep_alive(keep_alive_);
    http::async_write(client_, res_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  std::size_t) {
                        if (ec || !self->keep_alive_)
                          return self->close();
                        self->read_request();
                      });
  }

  void close() {
    beast::error_code ignored;
    client_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    client_.socket().close(ignored);
    upstream_.socket().close(ignored);
  }

  stream client_;
  stream upstream_;
  tcp::endpoint target_;
  std::string host_;
  beast::flat_buffer client_buf_;
  beast::flat_buffer upstream_buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  bool keep_alive_ = true;
};

void accept(acceptor_t& acceptor, const tcp::endpoint& upstream,
            const std::string& host) {
  acceptor.async_accept([&acceptor, &upstream, &host](beast::error_code ec,
                                                      socket_t s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true), ec);
      std::make_shared<session>(std::move(s), upstream, host)->start();
    }
    accept(acceptor, upstream, host);
  });
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "beast_relay: %s\n"
               "usage: beast_relay --upstream HOST:PORT [--port P] "
               "[--threads N]\n",
               why);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      usage(("missing value after " + a).c_str());
    std::string v = argv[++i];
    if (a == "--upstream") {
      auto colon = v.rfind(':');
      if (colon == std::string::npos)
        usage("--upstream must be HOST:PORT");
      o.upstream_host = v.substr(0, colon);
      o.upstream_port =
        static_cast<unsigned short>(std::atoi(v.c_str() + colon + 1));
    } else if (a == "--port") {
      o.port = static_cast<unsigned short>(std::atoi(v.c_str()));
    } else if (a == "--threads") {
      o.threads = std::atoi(v.c_str());
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  if (o.upstream_port == 0)
    usage("--upstream is required");
  if (o.threads < 1)
    usage("--threads must be positive");
  return o;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  const tcp::endpoint upstream{net::ip::make_address(opt.upstream_host),
                               opt.upstream_port};
  const std::string host =
    opt.upstream_host + ":" + std::to_string(opt.upstream_port);

  std::vector<std::unique_ptr<net::io_context>> loops;
  std::vector<std::unique_ptr<acceptor_t>> acceptors;
  tcp::endpoint listen{net::ip::make_address("127.0.0.1"), opt.port};
  for (int i = 0; i < opt.threads; ++i) {
    loops.push_back(std::make_unique<net::io_context>(1));
    auto a = std::make_unique<acceptor_t>(loops.back()->get_executor());
    a->open(listen.protocol());
    a->set_option(net::socket_base::reuse_address(true));
    a->set_option(reuse_port(true));
    a->bind(listen);
    a->listen(net::socket_base::max_listen_connections);
    // Every further acceptor binds the port the first one got.
    listen = a->local_endpoint();
    acceptors.push_back(std::move(a));
  }
  for (int i = 0; i < opt.threads; ++i)
    accept(*acceptors[static_cast<std::size_t>(i)], upstream, host);
  std::printf("relay listening on %u\n", listen.port());
  std::fflush(stdout);

  std::vector<std::thread> threads;
  for (int i = 1; i < opt.threads; ++i)
    threads.emplace_back([&loops, i] { loops[static_cast<std::size_t>(i)]->run(); });
  loops[0]->run();
  for (auto& t : threads)
    t.join();
  return 0;
}
