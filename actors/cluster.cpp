#include "actors/cluster.hpp"

#include <algorithm>

namespace gatehouse::actors {

const char* to_string(member_state s) {
  switch (s) {
  case member_state::up:
    return "up";
  case member_state::down:
    return "down";
  default:
    return "leaving";
  }
}

cluster_view::cluster_view(std::string self_id, std::string self_address,
                           bool clustered)
  : self_id_(std::move(self_id)), self_address_(std::move(self_address)),
    clustered_(clustered), joined_(!clustered) {}

std::vector<cluster_member> cluster_view::members() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<cluster_member> out;
  out.reserve(peers_.size() + 1);
  out.push_back({self_id_, self_address_, self_state_});
  out.insert(out.end(), peers_.begin(), peers_.end());
  return out;
}

std::vector<std::string> cluster_view::home_candidates() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::string> out;
  if (self_state_ == member_state::up)
    out.push_back(self_id_);
  for (const auto& m : peers_)
    if (m.state == member_state::up)
      out.push_back(m.node_id);
  return out;
}

std::size_t cluster_view::subscribe(listener fn) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto id = next_listener_++;
  listeners_.emplace(id, std::move(fn));
  return id;
}

void cluster_view::unsubscribe(std::size_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  listeners_.erase(id);
}

void cluster_view::publish(std::vector<cluster_member> peers,
                           member_state self_state) {
  std::sort(peers.begin(), peers.end(),
            [](const cluster_member& a, const cluster_member& b) {
              return a.node_id < b.node_id;
            });
  std::vector<listener> to_tell;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    peers_ = std::move(peers);
    self_state_ = self_state;
    for (const auto& [id, fn] : listeners_)
      to_tell.push_back(fn);
  }
  if (to_tell.empty())
    return;
  auto all = members();
  for (const auto& fn : to_tell)
    fn(all);
}

void describe_cluster(const cluster_view& view, policy::metrics_text& out) {
  double by_state[3] = {0, 0, 0};
  for (const auto& m : view.members())
    by_state[static_cast<int>(m.state)] += 1;
  std::vector<std::pair<policy::labels, double>> members;
  for (auto s : {member_state::up, member_state::down, member_state::leaving})
    members.push_back(
      {{{"state", to_string(s)}}, by_state[static_cast<int>(s)]});
  out.gauge("gatehouse_cluster_members",
            "Cluster members by state as this node sees them, itself "
            "included (a single node counts itself, up).",
            members);
  out.counter("gatehouse_cluster_peer_refusals_total",
              "Peers refused at the cluster handshake: wrong cluster "
              "secret, other master key or session secret, or this node's "
              "id.",
              {{{}, static_cast<double>(view.peer_refusals())}});
  out.gauge("gatehouse_cluster_joined",
            "1 once the node has joined its cluster (or waited long enough "
            "alone); a single node has always joined.",
            {{{}, view.joined() ? 1.0 : 0.0}});
}

} // namespace gatehouse::actors
