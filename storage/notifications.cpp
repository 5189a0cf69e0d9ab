#include "storage/notifications.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "storage/store_rows.hpp"

namespace gatehouse::storage {

namespace {

/// Counts notifications; what they carry does not matter.
class counter final : public pqxx::notification_receiver {
public:
  counter(pqxx::connection_base& c, const std::string& channel)
    : pqxx::notification_receiver(c, channel) {}

  void operator()(const std::string&, int) override {
    ++seen;
  }

  int seen = 0;
};

/// `url` with a connect timeout unless it has one: stopping the listener
/// waits for a connection attempt under way, which must not hang on an
/// unreachable server.
std::string with_connect_timeout(const std::string& url) {
  if (url.find("connect_timeout=") != std::string::npos)
    return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&")
         + "connect_timeout=3";
}

constexpr auto first_backoff = std::chrono::milliseconds{100};
constexpr auto max_backoff = std::chrono::milliseconds{5000};

} // namespace

change_listener::change_listener(std::string url) : url_(std::move(url)) {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
    throw std::runtime_error("change listener: cannot create a pipe");
}

void change_listener::start(std::function<void()> on_change,
                            std::function<void(const std::string&)> on_error) {
  on_change_ = std::move(on_change);
  on_error_ = std::move(on_error);
  thread_ = std::thread([this] { run(); });
}

change_listener::~change_listener() {
  stop_ = true;
  char b = 1;
  [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
  if (thread_.joinable())
    thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
}

void change_listener::run() {
  auto backoff = first_backoff;
  // Sleeps up to `d` unless stopped; false when stopped.
  auto pause = [this](std::chrono::milliseconds d) {
    pollfd p{wake_[0], POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(d.count()));
    return !stop_.load();
  };
  while (!stop_.load()) {
    try {
      pqxx::connection conn{with_connect_timeout(url_)};
      counter rx{conn, detail::org_change_channel};
      // The LISTEN is sent by the receiver; from here on no commit is
      // missed, and the read that follows covers those before.
      listening_ = true;
      ++connections_;
      backoff = first_backoff;
      on_change_();
      while (!stop_.load()) {
        pollfd fds[2] = {{conn.sock(), POLLIN, 0}, {wake_[0], POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0)
          continue; // EINTR
        if (fds[1].revents)
          break;
        rx.seen = 0;
        conn.get_notifs();
        if (!conn.is_open())
          throw pqxx::broken_connection{"the listening connection closed"};
        if (rx.seen > 0)
          on_change_();
      }
    } catch (const std::exception& e) {
      if ((listening_.exchange(false) || backoff == first_backoff) && on_error_)
        on_error_(e.what());
    }
    listening_ = false;
    if (stop_.load() || !pause(backoff))
      break;
    backoff = std::min(backoff * 2, max_backoff);
  }
  listening_ = false;
}

} // namespace gatehouse::storage
