// Lease traffic of a cluster at scale, with the gateway's own rules
// (policy::lease_grant, lease_want, lease_low_water; policy::home_node). No
// network: a simulation of one member's requests, from which every node's
// traffic follows (all members see the same mix of orgs).
//
//   build/bench/lease_traffic [--nodes N] [--orgs M] [--rate R]
//                             [--seconds S] [--zipf X] [--slice K]
//                             [--idle I] [--near-cap F]
//
// Defaults: 100 nodes, 1,000,000 orgs (one capped team each), 10,000
// requests per second on each node, 600 simulated seconds, org popularity
// Zipf with exponent 1.0, a lease slice of 64 estimates, org actors
// passivating after 300 s without a request on a node (their leases go back
// then), no team near its cap (--near-cap F puts the first F of the orgs by
// popularity, a fraction, near their caps, where the home grants exactly
// one request at a time). Every request has the same estimate and costs
// what it was estimated at.
//
// Prints a Markdown block: asks per second of one member and messages per
// second sent and received per node (each ask is two messages: the ask and
// its answer; a lease given back on passivation is one), the mean and the
// busiest node as a home, and messages per request.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "policy/lease.hpp"
#include "bench/sim_ids.hpp"
#include "policy/rendezvous.hpp"

namespace {

namespace policy = gatehouse::policy;

struct options {
  int nodes = 100;
  long orgs = 1'000'000;
  double rate = 10'000;
  double seconds = 600;
  double zipf = 1.0;
  int slice = 64;
  double idle_s = 300;
  double near_cap = 0;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: lease_traffic [--nodes N] [--orgs M] [--rate R] "
               "[--seconds S] [--zipf X] [--slice K] [--idle I] "
               "[--near-cap F]\n");
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    auto is = [&](const char* name) { return std::strcmp(argv[i], name) == 0; };
    auto v = argv[i + 1];
    if (is("--nodes"))
      o.nodes = std::atoi(v);
    else if (is("--orgs"))
      o.orgs = std::atol(v);
    else if (is("--rate"))
      o.rate = std::atof(v);
    else if (is("--seconds"))
      o.seconds = std::atof(v);
    else if (is("--zipf"))
      o.zipf = std::atof(v);
    else if (is("--slice"))
      o.slice = std::atoi(v);
    else if (is("--idle"))
      o.idle_s = std::atof(v);
    else if (is("--near-cap"))
      o.near_cap = std::atof(v);
    else
      usage();
  }
  if (o.nodes < 2 || o.orgs < 1 || o.rate <= 0 || o.seconds <= 0
      || o.slice < 1 || o.near_cap < 0 || o.near_cap > 1)
    usage();
  return o;
}

using gatehouse::bench::org_id;

/// One member's lease of one org's team.
struct lease {
  std::int64_t left = 0;      ///< what remains of the lease
  std::int64_t low_water = 0; ///< ask ahead below this
  double last_use = -1;       ///< seconds; -1: the org actor is not live
};

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  constexpr std::int64_t estimate = 1'000;
  // Far from the cap: what remains covers many slices for every member.
  constexpr std::int64_t far = INT64_MAX / 4;
  auto need = policy::lease_need(estimate);
  auto want = policy::lease_want(need, o.slice);
  auto near_orgs = static_cast<long>(o.near_cap * static_cast<double>(o.orgs));

  // Zipf popularity: org i (0 = the most popular) with weight 1/(i+1)^s.
  std::vector<double> cdf(static_cast<std::size_t>(o.orgs));
  double sum = 0;
  for (long i = 0; i < o.orgs; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), o.zipf);
    cdf[static_cast<std::size_t>(i)] = sum;
  }
  std::mt19937_64 rng{42};
  std::uniform_real_distribution<double> uni{0.0, sum};

  std::vector<lease> leases(static_cast<std::size_t>(o.orgs));
  std::vector<std::uint64_t> asks_of(static_cast<std::size_t>(o.orgs), 0);
  std::uint64_t asks = 0, returns = 0, requests = 0;
  auto total = static_cast<std::uint64_t>(o.rate * o.seconds);
  for (std::uint64_t n = 0; n < total; ++n) {
    double now = static_cast<double>(n) / o.rate;
    auto pick = std::lower_bound(cdf.begin(), cdf.end(), uni(rng));
    auto i = static_cast<std::size_t>(pick - cdf.begin());
    if (i >= leases.size())
      i = leases.size() - 1;
    auto& l = leases[i];
    if (l.last_use >= 0 && now - l.last_use > o.idle_s) {
      // The org actor passivated meanwhile and gave its lease back.
      ++returns;
      l = lease{};
    }
    l.last_use = now;
    ++requests;
    auto remaining = static_cast<long>(i) < near_orgs ? need : far;
    auto ask = [&] {
      auto g = policy::lease_grant(remaining, need, want,
                                   static_cast<std::size_t>(o.nodes));
      l.left += g;
      l.low_water = policy::lease_low_water(g, need);
      ++asks;
      ++asks_of[i];
    };
    if (l.left < estimate)
      ask(); // the request waits for it
    l.left -= estimate;
    if (l.low_water > 0 && l.left < l.low_water)
      ask(); // ahead of time
  }
  // (Orgs still live at the end give their leases back later, outside the
  // simulated time: not counted.)

  // Every member sends what this one sent; a home receives, for each org
  // it is home to, that org's asks from every other member.
  std::vector<std::string> ids;
  for (int k = 0; k < o.nodes; ++k)
    ids.push_back("node-" + std::to_string(k));
  std::vector<double> received(static_cast<std::size_t>(o.nodes), 0);
  for (long i = 0; i < o.orgs; ++i) {
    if (asks_of[static_cast<std::size_t>(i)] == 0)
      continue;
    auto home = policy::home_node(ids, org_id(i));
    auto k = static_cast<std::size_t>(std::stoi(home.substr(5)));
    received[k] += static_cast<double>(asks_of[static_cast<std::size_t>(i)])
                   * (o.nodes - 1);
  }
  // Per node and second: as a member it sends its asks to other nodes and
  // receives their answers, and gives leases back; as a home it receives
  // the others' asks and answers them. Asks to itself (this node is the
  // org's home) send nothing.
  double other = 1.0 - 1.0 / o.nodes;
  double asks_ps = static_cast<double>(asks) * other / o.seconds;
  double returns_ps = static_cast<double>(returns) * other / o.seconds;
  double mean_home = 0, max_home = 0;
  for (auto r : received) {
    mean_home += r / o.seconds;
    max_home = std::max(max_home, r / o.seconds);
  }
  mean_home /= o.nodes;
  double mean_msgs = 2 * asks_ps + returns_ps + 2 * mean_home;
  double max_msgs = 2 * asks_ps + returns_ps + 2 * max_home;

  std::printf("| %d nodes, %ld orgs, %.0f req/s per node, Zipf %.2f, slice "
              "%d, idle %.0f s, %.1f %% of orgs near the cap, %.0f s | |\n",
              o.nodes, o.orgs, o.rate, o.zipf, o.slice, o.idle_s,
              100 * o.near_cap, o.seconds);
  std::printf("|---|---:|\n");
  std::printf("| asks per request | %.4f |\n",
              static_cast<double>(asks) / static_cast<double>(requests));
  std::printf("| asks a member sends per second (to other nodes) | %.0f |\n",
              asks_ps);
  std::printf("| leases given back per second (passivation) | %.1f |\n",
              returns_ps);
  std::printf("| asks a home answers per second: mean / busiest node | "
              "%.0f / %.0f |\n",
              mean_home, max_home);
  std::printf("| lease messages per second per node, sent + received: "
              "mean / busiest | %.0f / %.0f |\n",
              mean_msgs, max_msgs);
  std::printf("| lease messages per request, mean | %.4f |\n",
              mean_msgs / o.rate);
  std::printf("| forwarding every admission instead (ask, answer, "
              "settlement; member and home) | %.0f messages/s per node |\n",
              2 * 3 * o.rate * other);
  return 0;
}
