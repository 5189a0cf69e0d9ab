#include "actors/cluster_actor.hpp"

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <spdlog/spdlog.h>

#include "actors/fwd.hpp"
#include "config/values.hpp"
#include "policy/cluster_auth.hpp"

namespace gatehouse::actors {

namespace {

// Cluster messages carry only strings and atoms, which every CAF node
// knows without registration.
using hello_atom = caf::atom_constant<caf::atom("clhello")>;
using auth_atom = caf::atom_constant<caf::atom("clauth")>;
using welcome_atom = caf::atom_constant<caf::atom("clwelcome")>;
using beat_atom = caf::atom_constant<caf::atom("clbeat")>;
using leave_atom = caf::atom_constant<caf::atom("clleave")>;
using drain_atom = caf::atom_constant<caf::atom("cldrain")>;
using tick_atom = caf::atom_constant<caf::atom("cltick")>;
using retry_atom = caf::atom_constant<caf::atom("clretry")>;

using clock = std::chrono::steady_clock;
using policy::handshake_role;

constexpr auto handshake_timeout = std::chrono::seconds(3);
/// A member down this long that this node does not connect to itself (it
/// connected to this node) leaves the member list.
constexpr auto forget_after = std::chrono::minutes(5);
constexpr auto connect_timeout = std::chrono::seconds(5);
constexpr int first_backoff_ms = 250;
constexpr int max_backoff_ms = 2000;
/// Handshakes a node answers at once; more hellos are refused until some
/// complete or time out.
constexpr std::size_t max_pending_handshakes = 64;

/// A configured peer address this node connects to.
struct peer_link {
  std::string address;
  std::string host;
  std::uint16_t port = 0;
  /// The peer's membership actor, once authenticated.
  caf::actor hdl;
  /// A connection or handshake is under way, or a retry is scheduled.
  bool busy = false;
  /// The address turned out to be this node's own.
  bool is_self = false;
  int backoff_ms = first_backoff_ms;
};

/// A member as this node knows it.
struct member_rec {
  std::string address;
  member_state state = member_state::up;
  clock::time_point last_seen;
  clock::time_point down_since;
  caf::actor hdl;
};

/// A handshake this node answers: the nonces it was started with.
struct pending_handshake {
  std::string initiator_nonce;
  std::string responder_nonce;
  clock::time_point started;
};

struct membership_state {
  cluster_options opts;
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<cluster_routes> routes;
  std::string self_address;
  std::vector<peer_link> links;
  std::map<std::string, member_rec> members;
  std::map<caf::actor_addr, std::string> node_of;
  std::map<caf::actor_addr, pending_handshake> pending;
  std::set<std::string> logged_refusals;
  clock::time_point started;
  bool leaving = false;

  static const char* name;
};

const char* membership_state::name = "cluster_membership";

using membership_actor = caf::stateful_actor<membership_state>;

std::string join_host_port(const std::string& host, std::uint16_t port) {
  auto h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

void publish_view(membership_actor* self) {
  auto& st = self->state;
  std::vector<cluster_member> peers;
  for (const auto& [id, m] : st.members) {
    peers.push_back({id, m.address, m.state});
    if (m.state != member_state::down && m.hdl)
      st.routes->add(id, m.hdl);
    else
      st.routes->remove(id);
  }
  st.view->publish(std::move(peers),
                   st.leaving ? member_state::leaving : member_state::up);
}

/// Logs a refused peer once per peer and reason, and counts every refusal.
void refuse(membership_actor* self, const std::string& who,
            const std::string& reason) {
  auto& st = self->state;
  st.view->count_refusal();
  if (st.logged_refusals.insert(who + "\n" + reason).second)
    spdlog::warn("cluster: refused peer {}: {}", who, reason);
}

/// Names the shared secret whose fingerprint differs, or "".
std::string secrets_mismatch(const membership_state& st,
                             const std::string& master_fp,
                             const std::string& jwt_fp) {
  if (master_fp != st.opts.master_key_fingerprint)
    return "its GATEHOUSE_MASTER_KEY differs from this node's (every member "
           "must share it)";
  if (jwt_fp != st.opts.jwt_secret_fingerprint)
    return "its GATEHOUSE_JWT_SECRET differs from this node's (every member "
           "must share it)";
  return "";
}

/// Makes an authenticated peer a member (again).
void admit(membership_actor* self, const std::string& node_id,
           const std::string& address, const caf::actor& hdl) {
  auto& st = self->state;
  auto& m = st.members[node_id];
  bool changed
    = m.state != member_state::up || m.hdl != hdl || m.address != address;
  if (m.hdl && m.hdl != hdl)
    st.node_of.erase(m.hdl.address());
  m.address = address;
  m.state = member_state::up;
  m.last_seen = clock::now();
  m.hdl = hdl;
  st.node_of[hdl.address()] = node_id;
  self->monitor(hdl);
  if (changed) {
    spdlog::info("cluster: member {} at {} is up", node_id, address);
    publish_view(self);
  }
  if (!st.view->joined()) {
    st.view->mark_joined();
    spdlog::info("cluster: joined ({} authenticated)", node_id);
  }
}

void set_state(membership_actor* self, const std::string& node_id,
               member_state s, const char* why) {
  auto& st = self->state;
  auto i = st.members.find(node_id);
  if (i == st.members.end() || i->second.state == s)
    return;
  i->second.state = s;
  if (s == member_state::down)
    i->second.down_since = clock::now();
  spdlog::info("cluster: member {} is {} ({})", node_id, to_string(s), why);
  publish_view(self);
}

void retry_later(membership_actor* self, std::size_t idx, bool long_wait) {
  auto& link = self->state.links[idx];
  link.busy = true;
  auto wait = long_wait ? max_backoff_ms : link.backoff_ms;
  link.backoff_ms = std::min(link.backoff_ms * 2, max_backoff_ms);
  self->delayed_send(self, std::chrono::milliseconds(wait), retry_atom::value,
                     static_cast<std::uint64_t>(idx));
}

/// The initiator's side of a handshake with the actor reached at link
/// `idx`: it proves itself first, so that the member it reached is the one
/// that refuses (and logs) a node without the secret.
void handshake(membership_actor* self, std::size_t idx, caf::actor hdl) {
  auto nonce_i = policy::handshake_nonce();
  self->request(hdl, handshake_timeout, hello_atom::value, nonce_i)
    .then(
      [=](std::string& nonce_r, std::string& peer_id) {
        auto& st = self->state;
        auto& link = st.links[idx];
        if (peer_id == st.opts.node_id && hdl.node() == self->node()) {
          // The address is this node's own.
          link.is_self = true;
          link.busy = false;
          // A node whose only peer is itself has no one to wait for.
          bool only_self = true;
          for (const auto& l : st.links)
            only_self = only_self && l.is_self;
          if (only_self)
            st.view->mark_joined();
          return;
        }
        auto mine
          = policy::handshake_proof(st.opts.secret, handshake_role::initiator,
                                    nonce_i, nonce_r, st.opts.node_id);
        self
          ->request(hdl, handshake_timeout, auth_atom::value, st.opts.node_id,
                    st.self_address, mine, st.opts.master_key_fingerprint,
                    st.opts.jwt_secret_fingerprint)
          .then(
            [=](welcome_atom, std::string& peer_addr, std::string& proof,
                std::string& master_fp, std::string& jwt_fp) {
              auto& st = self->state;
              auto& link = st.links[idx];
              if (!policy::verify_handshake_proof(
                    st.opts.secret, handshake_role::responder, nonce_i, nonce_r,
                    peer_id, proof)) {
                refuse(self, "'" + peer_id + "' at " + link.address,
                       "it failed cluster authentication "
                       "(GATEHOUSE_CLUSTER_SECRET differs)");
                retry_later(self, idx, true);
                return;
              }
              auto why = secrets_mismatch(st, master_fp, jwt_fp);
              if (!why.empty()) {
                refuse(self, "'" + peer_id + "' at " + link.address, why);
                retry_later(self, idx, true);
                return;
              }
              link.hdl = hdl;
              link.busy = false;
              link.backoff_ms = first_backoff_ms;
              admit(self, peer_id, peer_addr, hdl);
            },
            [=](caf::error&) {
              auto& st = self->state;
              auto& link = st.links[idx];
              if (st.logged_refusals.insert("by\n" + link.address).second)
                spdlog::warn("cluster: the peer at {} refused this node "
                             "(see its log: the cluster secret or the "
                             "shared secrets differ, or the node id is "
                             "taken)",
                             link.address);
              retry_later(self, idx, true);
            });
      },
      [=](caf::error&) { retry_later(self, idx, false); });
}

void connect(membership_actor* self, std::size_t idx) {
  auto& link = self->state.links[idx];
  if (self->state.leaving || link.is_self)
    return;
  link.busy = true;
  auto mm = self->system().middleman().actor_handle();
  self
    ->request(mm, connect_timeout, caf::connect_atom::value, link.host,
              link.port)
    .then(
      [=](caf::node_id&, caf::strong_actor_ptr& ptr, std::set<std::string>&) {
        if (!ptr) {
          retry_later(self, idx, false);
          return;
        }
        handshake(self, idx, caf::actor_cast<caf::actor>(std::move(ptr)));
      },
      [=](caf::error&) { retry_later(self, idx, false); });
}

void on_tick(membership_actor* self) {
  auto& st = self->state;
  auto now = clock::now();
  for (auto& [id, m] : st.members) {
    if (m.state == member_state::down || !m.hdl)
      continue;
    self->send(m.hdl, beat_atom::value, st.opts.node_id);
    if (now - m.last_seen > heartbeat_timeout)
      set_state(self, id, member_state::down, "no heartbeat");
  }
  for (auto i = st.pending.begin(); i != st.pending.end();)
    if (now - i->second.started > handshake_timeout)
      i = st.pending.erase(i);
    else
      ++i;
  // Members gone for good that this node would not reconnect to.
  bool forgot = false;
  for (auto i = st.members.begin(); i != st.members.end();) {
    bool configured = false;
    for (const auto& l : st.links)
      configured = configured || l.address == i->second.address;
    if (i->second.state == member_state::down && !configured
        && now - i->second.down_since > forget_after) {
      spdlog::info("cluster: member {} forgotten after {} min down",
                   i->first,
                   std::chrono::duration_cast<std::chrono::minutes>(
                     forget_after)
                     .count());
      i = st.members.erase(i);
      forgot = true;
    } else {
      ++i;
    }
  }
  if (forgot)
    publish_view(self);
  if (!st.view->joined() && now - st.started >= join_wait) {
    st.view->mark_joined();
    spdlog::warn("cluster: no peer reachable after {} ms; serving alone "
                 "until one is",
                 join_wait.count());
  }
  self->delayed_send(self, heartbeat_interval, tick_atom::value);
}

/// True when the current message comes from an authenticated member (or
/// from this process).
bool from_member(membership_actor* self) {
  auto& src = self->current_sender();
  return src && self->state.routes->is_member_node(src->node());
}

caf::behavior membership(membership_actor* self, cluster_options opts,
                         std::shared_ptr<cluster_view> view,
                         std::shared_ptr<cluster_routes> routes) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.view = std::move(view);
  st.routes = std::move(routes);
  st.self_address = join_host_port(st.opts.listen_host, st.opts.listen_port);
  st.started = clock::now();
  for (const auto& p : st.opts.peers) {
    auto hp = config::parse_listen(p);
    if (!hp)
      continue;
    peer_link link;
    link.address = p;
    link.host = hp->host;
    link.port = hp->port;
    st.links.push_back(std::move(link));
  }
  if (st.links.empty())
    st.view->mark_joined();
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    for (std::size_t i = 0; i < st.links.size(); ++i)
      if (st.links[i].hdl && st.links[i].hdl.address() == dm.source) {
        st.links[i].hdl = nullptr;
        retry_later(self, i, false);
      }
    auto i = st.node_of.find(dm.source);
    if (i == st.node_of.end())
      return;
    auto node = i->second;
    st.node_of.erase(i);
    auto m = st.members.find(node);
    if (m != st.members.end() && m->second.hdl
        && m->second.hdl.address() == dm.source) {
      m->second.hdl = nullptr;
      set_state(self, node, member_state::down, "connection lost");
    }
  });
  for (std::size_t i = 0; i < st.links.size(); ++i)
    connect(self, i);
  self->send(self, tick_atom::value);
  return {
    // The responder's side of a handshake: a nonce of its own.
    [=](hello_atom,
        std::string& nonce_i) -> caf::result<std::string, std::string> {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      if (st.leaving || !sender || st.pending.size() >= max_pending_handshakes)
        return caf::sec::request_receiver_down;
      auto nonce_r = policy::handshake_nonce();
      st.pending[sender] = {nonce_i, nonce_r, clock::now()};
      return {nonce_r, st.opts.node_id};
    },
    // The initiator's proof and its fingerprints of the shared secrets;
    // answered with this node's.
    [=](auth_atom, std::string& peer_id, std::string& peer_addr,
        std::string& proof, std::string& master_fp, std::string& jwt_fp)
      -> caf::result<welcome_atom, std::string, std::string, std::string,
                     std::string> {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto i = st.pending.find(sender);
      if (i == st.pending.end())
        return caf::sec::request_timeout;
      auto hs = std::move(i->second);
      st.pending.erase(i);
      auto who = "'" + peer_id + "' (says it is at " + peer_addr + ")";
      if (!policy::verify_handshake_proof(
            st.opts.secret, handshake_role::initiator, hs.initiator_nonce,
            hs.responder_nonce, peer_id, proof)) {
        refuse(self, who,
               "it failed cluster authentication (GATEHOUSE_CLUSTER_SECRET "
               "differs)");
        return caf::sec::invalid_argument;
      }
      if (peer_id == st.opts.node_id) {
        refuse(self, who, "it uses this node's id");
        return caf::sec::invalid_argument;
      }
      auto why = secrets_mismatch(st, master_fp, jwt_fp);
      if (!why.empty()) {
        refuse(self, who, why);
        return caf::sec::invalid_argument;
      }
      admit(self, peer_id, peer_addr,
            caf::actor_cast<caf::actor>(self->current_sender()));
      auto mine = policy::handshake_proof(
        st.opts.secret, handshake_role::responder, hs.initiator_nonce,
        hs.responder_nonce, st.opts.node_id);
      return {welcome_atom::value, st.self_address, mine,
              st.opts.master_key_fingerprint, st.opts.jwt_secret_fingerprint};
    },
    [=](beat_atom, const std::string& peer_id) {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto i = st.node_of.find(sender);
      if (i == st.node_of.end() || i->second != peer_id)
        return;
      auto& m = st.members[peer_id];
      m.last_seen = clock::now();
      if (m.state == member_state::down)
        set_state(self, peer_id, member_state::up, "heartbeat again");
    },
    [=](leave_atom, const std::string& peer_id) {
      auto& st = self->state;
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto i = st.node_of.find(sender);
      if (i != st.node_of.end() && i->second == peer_id)
        set_state(self, peer_id, member_state::leaving, "graceful stop");
    },
    [=](drain_atom) {
      auto& st = self->state;
      if (st.leaving)
        return;
      st.leaving = true;
      for (const auto& [id, m] : st.members)
        if (m.hdl && m.state != member_state::down)
          self->send(m.hdl, leave_atom::value, st.opts.node_id);
      spdlog::info("cluster: leaving");
      publish_view(self);
    },
    [=](tick_atom) { on_tick(self); },
    // A member asks this node, the org's home, for budget.
    [=](lease_ask_atom, lease_ask& ask, caf::actor& reply_to) {
      if (from_member(self))
        self->state.routes->route(std::move(ask), std::move(reply_to));
    },
    // A new home collects an org's state from this node.
    [=](lease_collect_atom, std::string& org_id, std::string& month,
        std::string& home, caf::actor& reply_to) {
      if (from_member(self))
        self->state.routes->route_collect(org_id, month, home,
                                          std::move(reply_to));
    },
    [=](retry_atom, std::uint64_t idx) {
      auto& st = self->state;
      if (idx >= st.links.size() || st.links[idx].hdl)
        return;
      st.links[idx].busy = false;
      connect(self, static_cast<std::size_t>(idx));
    },
  };
}

} // namespace

caf::actor spawn_membership(caf::actor_system& sys, cluster_options opts,
                            std::shared_ptr<cluster_view> view,
                            std::shared_ptr<cluster_routes> routes) {
  auto host = opts.listen_host;
  auto port = opts.listen_port;
  auto hdl = sys.spawn(membership, std::move(opts), std::move(view),
                       std::move(routes));
  auto bound = sys.middleman().publish(hdl, port, host.c_str(), true);
  if (!bound) {
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    throw std::runtime_error("cannot serve cluster traffic on "
                             + join_host_port(host, port) + ": "
                             + sys.render(bound.error()));
  }
  return hdl;
}

void announce_leaving(const caf::actor& membership) {
  if (membership)
    caf::anon_send(membership, drain_atom::value);
}

} // namespace gatehouse::actors
