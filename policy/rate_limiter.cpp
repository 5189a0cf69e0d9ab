#include "policy/rate_limiter.hpp"

#include <algorithm>
#include <stdexcept>

#include "policy/net.hpp"

namespace gatehouse::policy {

sliding_window_limiter::sliding_window_limiter(int max_events,
                                               long long window_ms,
                                               std::size_t max_clients)
  : max_events_(max_events), window_ms_(window_ms), max_clients_(max_clients) {
  if (max_events < 1)
    throw std::invalid_argument("max_events must be positive");
  if (window_ms < 1)
    throw std::invalid_argument("window_ms must be positive");
  if (max_clients < 1)
    throw std::invalid_argument("max_clients must be positive");
}

void sliding_window_limiter::make_room(long long now_ms) {
  // A full scan at most once a second keeps a flood of new addresses from
  // costing a scan each.
  if (!pruned_ || now_ms - last_prune_ms_ >= 1000 || now_ms < last_prune_ms_) {
    pruned_ = true;
    last_prune_ms_ = now_ms;
    prune(now_ms);
  }
  if (clients_.size() >= max_clients_)
    clients_.erase(clients_.begin());
}

void sliding_window_limiter::expire(std::deque<long long>& events,
                                    long long now_ms) const {
  // An event at t is inside the window while t > now - window.
  while (!events.empty() && events.front() <= now_ms - window_ms_)
    events.pop_front();
}

sliding_window_limiter::decision
sliding_window_limiter::hit(const std::string& client, long long now_ms) {
  if (clients_.size() >= max_clients_ && clients_.count(client) == 0)
    make_room(now_ms);
  auto& events = clients_[client];
  expire(events, now_ms);
  if (events.size() >= static_cast<std::size_t>(max_events_)) {
    long long wait = events.front() + window_ms_ - now_ms;
    return decision{false, std::max(1LL, wait)};
  }
  // Keep the log ordered even if the caller's clock steps backwards.
  events.push_back(events.empty() ? now_ms : std::max(now_ms, events.back()));
  return decision{true, 0};
}

void sliding_window_limiter::prune(long long now_ms) {
  for (auto i = clients_.begin(); i != clients_.end();) {
    expire(i->second, now_ms);
    if (i->second.empty())
      i = clients_.erase(i);
    else
      ++i;
  }
}

std::string limiter_client_key(std::string_view ip) {
  auto parsed = parse_ip(ip);
  if (!parsed)
    return std::string{ip};
  if (parsed->v6) {
    for (std::size_t i = 8; i < 16; ++i)
      parsed->bytes[i] = 0;
    return to_string(*parsed) + "/64";
  }
  return to_string(*parsed);
}

} // namespace gatehouse::policy
