#include "actors/cluster_routes.hpp"

namespace gatehouse::actors {

void cluster_routes::add(const std::string& node_id,
                         const caf::actor& membership) {
  std::lock_guard<std::mutex> lock{mtx_};
  members_[node_id] = membership;
}

void cluster_routes::remove(const std::string& node_id) {
  std::lock_guard<std::mutex> lock{mtx_};
  members_.erase(node_id);
}

caf::actor cluster_routes::membership_of(const std::string& node_id) const {
  std::lock_guard<std::mutex> lock{mtx_};
  auto i = members_.find(node_id);
  return i == members_.end() ? caf::actor{} : i->second;
}

bool cluster_routes::is_member_node(const caf::node_id& node) const {
  std::lock_guard<std::mutex> lock{mtx_};
  if (node == self_)
    return true;
  for (const auto& [id, hdl] : members_)
    if (hdl && hdl.node() == node)
      return true;
  return false;
}

bool cluster_routes::route(lease_ask ask, caf::actor reply_to) const {
  ask_router fn;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    fn = ask_;
  }
  if (!fn)
    return false;
  fn(std::move(ask), std::move(reply_to));
  return true;
}

bool cluster_routes::route_collect(const std::string& org_id,
                                   const std::string& month,
                                   const std::string& home,
                                   caf::actor reply_to) const {
  collect_router fn;
  {
    std::lock_guard<std::mutex> lock{mtx_};
    fn = collect_;
  }
  if (!fn)
    return false;
  fn(org_id, month, home, std::move(reply_to));
  return true;
}

void cluster_routes::describe(policy::metrics_text& out) const {
  static const char* names[] = {"ask",       "grant",   "recall",
                                "give_back", "collect", "collected"};
  std::vector<std::pair<policy::labels, double>> sent;
  for (std::size_t i = 0; i < sent_.size(); ++i)
    sent.push_back({{{"kind", names[i]}},
                    static_cast<double>(sent_[i].load())});
  out.counter("gatehouse_cluster_lease_messages_total",
              "Budget lease messages this node sent to other members, by "
              "kind (see docs/cluster.md).",
              sent);
  out.counter("gatehouse_cluster_ledger_rebuilds_total",
              "Orgs whose ledgers this node rebuilt as their new home.",
              {{{}, static_cast<double>(rebuilds_.load())}});
}

} // namespace gatehouse::actors
