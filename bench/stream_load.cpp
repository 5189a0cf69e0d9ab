// Opens many concurrent SSE streams and checks that every event arrives.
//
// Each connection sends one streaming request, reads the answer to
// `data: [DONE]` (and the end of the chunked body), then closes. Per
// connection the client keeps only a few dozen bytes of state: it waits for
// readability and reads into a buffer shared by the thread, decoding HTTP
// chunks and SSE event boundaries incrementally.
//
// Output: one JSON line on stdout; a human-readable summary on stderr.

#include <sys/resource.h>

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cctype>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using error_code = boost::system::error_code;

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/v1/chat/completions";
  std::vector<std::string> headers;
  std::string body =
      R"({"model":"gpt-4o-mini","stream":true,)"
      R"("messages":[{"role":"user","content":"Say hello."}]})";
  int connections = 10000;
  int ramp_ms = 0;
  long expect_chunks = -1;
  int timeout_s = 120;
  int threads = 1;
};

void usage() {
  std::fprintf(
      stderr,
      "usage: stream_load --url HOST:PORT [options]\n"
      "  --connections C      concurrent streams (default 10000)\n"
      "  --path P             request path (default /v1/chat/completions)\n"
      "  --header 'K: V'      extra request header (repeatable)\n"
      "  --body JSON          request body (default: a streaming chat)\n"
      "  --ramp-ms R          spread connection starts over R ms (default 0)\n"
      "  --expect-chunks N    data events expected per stream\n"
      "  --timeout-s S        give up on unfinished streams after S s "
      "(default 120)\n"
      "  --threads T          client threads (default 1)\n");
}

void raise_nofile(int needed) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0
      && rl.rlim_cur < static_cast<rlim_t>(needed) + 64)
    std::fprintf(stderr,
                 "stream_load: open-file limit %llu is too low for %d "
                 "connections\n",
                 static_cast<unsigned long long>(rl.rlim_cur), needed);
}

enum class failure {
  connect,
  write,
  status,
  protocol,
  closed_early,
  read,
  timeout,
};
constexpr int failure_kinds = 7;
const char* failure_name(int f) {
  static const char* names[] = {"connect",      "write", "status", "protocol",
                                "closed_early", "read",  "timeout"};
  return names[f];
}

struct stats {
  long completed = 0;
  long failed = 0;
  long failures[failure_kinds] = {};
  long chunks_completed = 0;  // data events on completed streams
  long chunks_failed = 0;     // data events on failed streams
  long short_streams = 0;     // completed with a count other than expected
  std::vector<double> ttfe_us;
  std::map<int, long> statuses;  // non-200 answers
  std::string first_error;
  steady::time_point last_end{};
};

class worker;

/// One streaming exchange. Small on purpose: 10,000 of them live at once.
class stream_conn {
public:
  stream_conn(worker& w, net::io_context& ioc) : w_(w), sock_(ioc) {}

  void start();
  void abort_timeout();
  bool finished() const { return phase_ == phase::finished; }

private:
  enum class phase : std::uint8_t { idle, connecting, writing, head, body,
                                    finished };
  enum class cstate : std::uint8_t { size, ext, size_lf, data, data_cr,
                                     data_lf, trailer, trailer_lf, done };

  void on_connect(const error_code& ec);
  void on_write(const error_code& ec);
  void wait_read();
  void on_readable(const error_code& ec);
  /// Consumes received bytes; false when the connection is finished.
  bool consume(const char* p, std::size_t n);
  bool consume_head(const char* p, std::size_t n, std::size_t& used);
  bool consume_body(const char* p, std::size_t n);
  void body_bytes(const char* p, std::size_t n);
  void sse_byte(char c);
  void message_end();
  void fail(failure f, std::string detail = {});
  void succeed();
  void close();

  worker& w_;
  tcp::socket sock_;
  steady::time_point sent_{};
  std::string head_;  // response head while it arrives, then released
  std::string err_body_;
  std::int64_t remaining_ = 0;  // chunk or content-length bytes left
  std::uint32_t chunks_ = 0;
  std::uint16_t status_ = 0;
  phase phase_ = phase::idle;
  cstate cs_ = cstate::size;
  bool chunked_ = false;
  bool until_close_ = false;
  bool done_seen_ = false;
  bool got_first_ = false;
  bool ev_data_ = false;  // the current event has a data line
  bool ev_done_ = false;  // ... and it is [DONE]
  std::uint32_t line_len_ = 0;
  char line_[14] = {};  // first bytes of the current line
};

class worker {
public:
  worker(const options& o, const tcp::endpoint& ep, const std::string& req,
         int count, int index, int total_threads)
      : opt_(o), ep_(ep), request_(req), ioc_(1), ramp_timer_(ioc_),
        deadline_(ioc_) {
    conns_.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
      conns_.push_back(std::make_unique<stream_conn>(*this, ioc_));
    // The k-th connection of this worker is connection k*T+index overall.
    index_ = index;
    threads_ = total_threads;
    st_.ttfe_us.reserve(static_cast<std::size_t>(count));
  }

  void run(steady::time_point t0) {
    t0_ = t0;
    left_ = static_cast<long>(conns_.size());
    if (left_ == 0)
      return;
    deadline_.expires_at(t0 + std::chrono::seconds(opt_.timeout_s));
    deadline_.async_wait([this](const error_code& ec) {
      if (ec)
        return;
      for (auto& c : conns_)
        c->abort_timeout();
      ramp_timer_.cancel();
    });
    launch_due();
    ioc_.run();
  }

  const tcp::endpoint& endpoint() const { return ep_; }
  long expect() const { return opt_.expect_chunks; }
  const std::string& request() const { return request_; }
  std::array<char, 65536>& buffer() { return buf_; }
  stats& st() { return st_; }

  void done_one() {
    st_.last_end = steady::now();
    if (--left_ == 0) {
      deadline_.cancel();
      ramp_timer_.cancel();
    }
  }

private:
  /// Starts every connection whose moment in the ramp has come.
  void launch_due() {
    auto total = static_cast<long>(opt_.connections);
    auto now = steady::now();
    double elapsed_ms =
        std::chrono::duration<double, std::milli>(now - t0_).count();
    while (next_ < conns_.size()) {
      long global = static_cast<long>(next_) * threads_ + index_;
      double due_ms = opt_.ramp_ms <= 0 || total <= 1
                          ? 0.0
                          : static_cast<double>(opt_.ramp_ms) * global
                                / static_cast<double>(total - 1);
      if (due_ms > elapsed_ms)
        break;
      conns_[next_++]->start();
    }
    if (next_ < conns_.size()) {
      ramp_timer_.expires_after(std::chrono::milliseconds(1));
      ramp_timer_.async_wait([this](const error_code& ec) {
        if (!ec)
          launch_due();
      });
    }
  }

  const options& opt_;
  tcp::endpoint ep_;
  const std::string& request_;
  net::io_context ioc_;
  net::steady_timer ramp_timer_;
  net::steady_timer deadline_;
  std::vector<std::unique_ptr<stream_conn>> conns_;
  std::size_t next_ = 0;
  long left_ = 0;
  int index_ = 0;
  int threads_ = 1;
  steady::time_point t0_{};
  std::array<char, 65536> buf_{};
  stats st_;
};

void stream_conn::start() {
  phase_ = phase::connecting;
  sock_.async_connect(w_.endpoint(),
                      [this](const error_code& ec) { on_connect(ec); });
}

void stream_conn::on_connect(const error_code& ec) {
  if (phase_ == phase::finished)
    return;
  if (ec)
    return fail(failure::connect, ec.message());
  error_code ignored;
  sock_.set_option(tcp::no_delay(true), ignored);
  sock_.non_blocking(true, ignored);
  phase_ = phase::writing;
  sent_ = steady::now();
  net::async_write(sock_, net::buffer(w_.request()),
                   [this](const error_code& e, std::size_t) { on_write(e); });
}

void stream_conn::on_write(const error_code& ec) {
  if (phase_ == phase::finished)
    return;
  if (ec)
    return fail(failure::write, ec.message());
  phase_ = phase::head;
  wait_read();
}

void stream_conn::wait_read() {
  sock_.async_wait(tcp::socket::wait_read,
                   [this](const error_code& ec) { on_readable(ec); });
}

void stream_conn::on_readable(const error_code& ec) {
  if (phase_ == phase::finished)
    return;
  if (ec)
    return fail(failure::read, ec.message());
  auto& buf = w_.buffer();
  for (;;) {
    error_code rec;
    std::size_t n = sock_.read_some(net::buffer(buf), rec);
    if (rec == net::error::would_block || rec == net::error::try_again)
      return wait_read();
    if (rec == net::error::eof) {
      if (phase_ == phase::body && (until_close_ || done_seen_))
        return message_end();
      return fail(failure::closed_early, "connection closed before [DONE]");
    }
    if (rec)
      return fail(failure::read, rec.message());
    if (!consume(buf.data(), n))
      return;
  }
}

bool stream_conn::consume(const char* p, std::size_t n) {
  if (phase_ == phase::head) {
    std::size_t used = 0;
    if (!consume_head(p, n, used))
      return false;
    p += used;
    n -= used;
    if (phase_ != phase::body)
      return true;  // head incomplete
  }
  return consume_body(p, n);
}

bool stream_conn::consume_head(const char* p, std::size_t n,
                               std::size_t& used) {
  std::size_t old = head_.size();
  head_.append(p, n);
  auto end = head_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
  if (end == std::string::npos) {
    used = n;
    if (head_.size() > 64 * 1024) {
      fail(failure::protocol, "response head too large");
      return false;
    }
    return true;
  }
  used = end + 4 - old;
  std::string_view head(head_.data(), end + 2);
  // Status line: HTTP/1.1 200 OK
  if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
    fail(failure::protocol, "not an HTTP response");
    return false;
  }
  auto sp = head.find(' ');
  status_ = static_cast<std::uint16_t>(std::atoi(head_.c_str() + sp + 1));
  bool has_length = false;
  std::size_t pos = head.find("\r\n") + 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    auto line = head.substr(pos, eol - pos);
    pos = eol + 2;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    std::string name(line.substr(0, colon));
    for (auto& ch : name)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    if (name == "transfer-encoding") {
      std::string v(value);
      for (auto& ch : v)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (v.find("chunked") != std::string::npos)
        chunked_ = true;
    } else if (name == "content-length") {
      has_length = true;
      remaining_ = std::atoll(std::string(value).c_str());
    }
  }
  if (!chunked_ && !has_length)
    until_close_ = true;
  std::string().swap(head_);
  phase_ = phase::body;
  cs_ = cstate::size;
  if (!chunked_)
    cs_ = cstate::data;
  if (!chunked_ && has_length && remaining_ == 0) {
    message_end();
    return false;
  }
  return true;
}

bool stream_conn::consume_body(const char* p, std::size_t n) {
  if (!chunked_) {
    std::size_t take = n;
    if (!until_close_)
      take = static_cast<std::size_t>(
          std::min<std::int64_t>(remaining_, static_cast<std::int64_t>(n)));
    body_bytes(p, take);
    if (phase_ == phase::finished)
      return false;
    if (!until_close_) {
      remaining_ -= static_cast<std::int64_t>(take);
      if (remaining_ == 0) {
        message_end();
        return false;
      }
    }
    return true;
  }
  std::size_t i = 0;
  while (i < n) {
    char c = p[i];
    switch (cs_) {
    case cstate::size:
      if (std::isxdigit(static_cast<unsigned char>(c))) {
        int d = std::isdigit(static_cast<unsigned char>(c))
                    ? c - '0'
                    : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
        remaining_ = remaining_ * 16 + d;
        if (remaining_ > (std::int64_t{1} << 40)) {
          fail(failure::protocol, "chunk size too large");
          return false;
        }
      } else if (c == ';') {
        cs_ = cstate::ext;
      } else if (c == '\r') {
        cs_ = cstate::size_lf;
      } else {
        fail(failure::protocol, "bad chunk size");
        return false;
      }
      ++i;
      break;
    case cstate::ext:
      if (c == '\r')
        cs_ = cstate::size_lf;
      ++i;
      break;
    case cstate::size_lf:
      if (c != '\n') {
        fail(failure::protocol, "bad chunk line");
        return false;
      }
      ++i;
      cs_ = remaining_ == 0 ? cstate::trailer : cstate::data;
      break;
    case cstate::data: {
      std::size_t take = static_cast<std::size_t>(std::min<std::int64_t>(
          remaining_, static_cast<std::int64_t>(n - i)));
      body_bytes(p + i, take);
      if (phase_ == phase::finished)
        return false;
      i += take;
      remaining_ -= static_cast<std::int64_t>(take);
      if (remaining_ == 0)
        cs_ = cstate::data_cr;
      break;
    }
    case cstate::data_cr:
      if (c != '\r') {
        fail(failure::protocol, "missing CRLF after chunk");
        return false;
      }
      cs_ = cstate::data_lf;
      ++i;
      break;
    case cstate::data_lf:
      if (c != '\n') {
        fail(failure::protocol, "missing CRLF after chunk");
        return false;
      }
      cs_ = cstate::size;
      ++i;
      break;
    case cstate::trailer:
      // After the last chunk: trailer lines, then an empty line.
      if (c == '\r') {
        cs_ = cstate::trailer_lf;
      } else {
        cs_ = cstate::done;  // a trailer field: skip to its end
      }
      ++i;
      break;
    case cstate::trailer_lf:
      ++i;
      message_end();
      return false;
    case cstate::done:
      if (c == '\n')
        cs_ = cstate::trailer;
      ++i;
      break;
    }
  }
  return true;
}

void stream_conn::body_bytes(const char* p, std::size_t n) {
  if (status_ != 200) {
    if (err_body_.size() < 300)
      err_body_.append(p, std::min<std::size_t>(n, 300 - err_body_.size()));
    return;
  }
  for (std::size_t i = 0; i < n; ++i)
    sse_byte(p[i]);
}

/// Splits the body into lines and events (a blank line ends an event). An
/// event with a `data:` line is a chunk, unless its data is `[DONE]`.
void stream_conn::sse_byte(char c) {
  if (c == '\r')
    return;
  if (c != '\n') {
    if (line_len_ < sizeof line_)
      line_[line_len_] = c;
    ++line_len_;
    return;
  }
  if (line_len_ == 0) {  // blank line: the event is complete
    if (ev_done_) {
      done_seen_ = true;
    } else if (ev_data_) {
      if (!got_first_) {
        got_first_ = true;
        w_.st().ttfe_us.push_back(
            std::chrono::duration<double, std::micro>(steady::now() - sent_)
                .count());
      }
      ++chunks_;
    }
    ev_data_ = ev_done_ = false;
    return;
  }
  std::string_view line(line_, std::min<std::size_t>(line_len_, sizeof line_));
  if (line.substr(0, 5) == "data:") {
    ev_data_ = true;
    auto v = line.substr(5);
    if (!v.empty() && v.front() == ' ')
      v.remove_prefix(1);
    if (v.substr(0, 6) == "[DONE]" && line_len_ <= 13)
      ev_done_ = true;
  }
  line_len_ = 0;
}

void stream_conn::message_end() {
  if (status_ != 200) {
    std::string d = "HTTP " + std::to_string(status_);
    if (!err_body_.empty())
      d += ": " + err_body_;
    return fail(failure::status, d);
  }
  if (!done_seen_)
    return fail(failure::closed_early, "body ended before [DONE]");
  succeed();
}

void stream_conn::succeed() {
  auto& st = w_.st();
  ++st.completed;
  st.chunks_completed += chunks_;
  if (w_.expect() >= 0 && chunks_ != w_.expect())
    ++st.short_streams;
  close();
  phase_ = phase::finished;
  w_.done_one();
}

void stream_conn::fail(failure f, std::string detail) {
  if (phase_ == phase::finished)
    return;
  auto& st = w_.st();
  ++st.failed;
  ++st.failures[static_cast<int>(f)];
  st.chunks_failed += chunks_;
  if (f == failure::status)
    ++st.statuses[status_];
  if (st.first_error.empty())
    st.first_error = std::string(failure_name(static_cast<int>(f))) + ": "
                     + detail;
  close();
  phase_ = phase::finished;
  w_.done_one();
}

void stream_conn::abort_timeout() {
  if (phase_ == phase::finished)
    return;
  if (phase_ == phase::idle) {
    // Never started (the ramp outlasted the timeout).
    return fail(failure::timeout, "not started before the timeout");
  }
  fail(failure::timeout, "stream unfinished at the timeout");
}

void stream_conn::close() {
  error_code ec;
  sock_.close(ec);
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty())
    return 0.0;
  auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    default:
      if (static_cast<unsigned char>(c) < 0x20) {
        char tmp[8];
        std::snprintf(tmp, sizeof tmp, "\\u%04x", c);
        out += tmp;
      } else {
        out += c;
      }
    }
  }
  return out;
}

int to_int(const char* s, const char* what) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!*s || *end || v < 0 || v > 100000000) {
    std::fprintf(stderr, "stream_load: bad value for %s: '%s'\n", what, s);
    std::exit(2);
  }
  return static_cast<int>(v);
}

} // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "stream_load: %s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--url") {
      std::string u = value();
      if (u.rfind("http://", 0) == 0)
        u = u.substr(7);
      if (auto slash = u.find('/'); slash != std::string::npos)
        u = u.substr(0, slash);
      auto colon = u.rfind(':');
      if (colon == std::string::npos) {
        o.host = u;
        o.port = "80";
      } else {
        o.host = u.substr(0, colon);
        o.port = u.substr(colon + 1);
      }
    } else if (a == "--path") {
      o.path = value();
    } else if (a == "--header" || a == "-H") {
      o.headers.emplace_back(value());
    } else if (a == "--body") {
      o.body = value();
    } else if (a == "--connections" || a == "-c") {
      o.connections = to_int(value(), "--connections");
    } else if (a == "--ramp-ms") {
      o.ramp_ms = to_int(value(), "--ramp-ms");
    } else if (a == "--expect-chunks") {
      o.expect_chunks = to_int(value(), "--expect-chunks");
    } else if (a == "--timeout-s") {
      o.timeout_s = to_int(value(), "--timeout-s");
    } else if (a == "--threads") {
      o.threads = std::max(1, to_int(value(), "--threads"));
    } else if (a == "-h" || a == "--help") {
      usage();
      return 0;
    } else {
      std::fprintf(stderr, "stream_load: unknown argument '%s'\n", argv[i]);
      usage();
      return 2;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);
  raise_nofile(o.connections);

  tcp::endpoint ep;
  try {
    net::io_context r;
    tcp::resolver res(r);
    ep = *res.resolve(o.host, o.port).begin();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stream_load: cannot resolve %s:%s: %s\n",
                 o.host.c_str(), o.port.c_str(), e.what());
    return 2;
  }

  std::string request = "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host
                        + ":" + o.port
                        + "\r\nContent-Type: application/json\r\n"
                          "Accept: text/event-stream\r\n";
  for (auto& h : o.headers)
    request += h + "\r\n";
  request += "Content-Length: " + std::to_string(o.body.size()) + "\r\n\r\n";
  request += o.body;

  int threads = std::min(o.threads, std::max(1, o.connections));
  std::vector<std::unique_ptr<worker>> workers;
  for (int t = 0; t < threads; ++t) {
    int count = o.connections / threads + (t < o.connections % threads);
    workers.push_back(
        std::make_unique<worker>(o, ep, request, count, t, threads));
  }

  std::fprintf(stderr, "stream_load: %d streams to %s:%s%s, ramp %d ms\n",
               o.connections, o.host.c_str(), o.port.c_str(), o.path.c_str(),
               o.ramp_ms);
  auto t0 = steady::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t)
    pool.emplace_back([&, t] { workers[t]->run(t0); });
  workers.front()->run(t0);
  for (auto& th : pool)
    th.join();

  stats all;
  for (auto& w : workers) {
    auto& s = w->st();
    all.completed += s.completed;
    all.failed += s.failed;
    for (int f = 0; f < failure_kinds; ++f)
      all.failures[f] += s.failures[f];
    all.chunks_completed += s.chunks_completed;
    all.chunks_failed += s.chunks_failed;
    all.short_streams += s.short_streams;
    all.ttfe_us.insert(all.ttfe_us.end(), s.ttfe_us.begin(), s.ttfe_us.end());
    for (auto& [k, v] : s.statuses)
      all.statuses[k] += v;
    if (all.first_error.empty())
      all.first_error = s.first_error;
    all.last_end = std::max(all.last_end, s.last_end);
  }
  double duration_s =
      std::chrono::duration<double>(
          (all.last_end == steady::time_point{} ? steady::now()
                                                : all.last_end)
          - t0)
          .count();
  double p50 = percentile(all.ttfe_us, 50.0) / 1000.0;
  double p99 = percentile(all.ttfe_us, 99.0) / 1000.0;
  double pmax = all.ttfe_us.empty()
                    ? 0.0
                    : *std::max_element(all.ttfe_us.begin(),
                                        all.ttfe_us.end())
                          / 1000.0;
  long expected = o.expect_chunks >= 0 ? o.expect_chunks * all.completed : -1;
  long lost = expected >= 0 ? expected - all.chunks_completed : -1;

  std::string failures = "{";
  for (int f = 0; f < failure_kinds; ++f) {
    if (f)
      failures += ",";
    failures += "\"" + std::string(failure_name(f))
                + "\":" + std::to_string(all.failures[f]);
  }
  failures += "}";
  std::string statuses = "{";
  for (auto& [k, v] : all.statuses) {
    if (statuses.size() > 1)
      statuses += ",";
    statuses += "\"" + std::to_string(k) + "\":" + std::to_string(v);
  }
  statuses += "}";

  std::fprintf(stderr,
               "streams: %ld completed, %ld failed of %d\n"
               "chunks:  %ld received on completed streams",
               all.completed, all.failed, o.connections, all.chunks_completed);
  if (expected >= 0)
    std::fprintf(stderr, ", %ld expected, %ld lost", expected, lost);
  std::fprintf(stderr,
               "\nTTFE:    p50 %.3f ms, p99 %.3f ms, max %.3f ms\n"
               "time:    %.3f s\n",
               p50, p99, pmax, duration_s);
  if (!all.first_error.empty())
    std::fprintf(stderr, "first failure: %s\n", all.first_error.c_str());

  std::printf(
      "{\"connections\":%d,\"completed\":%ld,\"failed\":%ld,"
      "\"failures\":%s,\"statuses\":%s,\"chunks_received\":%ld,"
      "\"chunks_expected\":%s,\"lost_chunks\":%s,"
      "\"streams_with_wrong_count\":%ld,\"chunks_on_failed_streams\":%ld,"
      "\"ttfe_p50_ms\":%.3f,\"ttfe_p99_ms\":%.3f,\"ttfe_max_ms\":%.3f,"
      "\"duration_s\":%.3f,\"first_error\":\"%s\"}\n",
      o.connections, all.completed, all.failed, failures.c_str(),
      statuses.c_str(), all.chunks_completed,
      expected >= 0 ? std::to_string(expected).c_str() : "null",
      expected >= 0 ? std::to_string(lost).c_str() : "null",
      all.short_streams, all.chunks_failed, p50, p99, pmax, duration_s,
      json_escape(all.first_error).c_str());
  return all.failed == 0 && (expected < 0 || lost == 0) ? 0 : 1;
}
