// How organizations spread over cluster members and how many move when a
// member joins or leaves, with the home-node function the gateway uses
// (policy::home_node, rendezvous hashing). No network: a simulation.
//
//   build/bench/home_moves [--nodes N] [--orgs M]      (defaults 100, 1000000)
//
// Prints a Markdown block: orgs per node (min, max, standard deviation
// against the mean), orgs moved when node N+1 joins and when one node
// leaves, and whether every moved org moved only to the joining node or
// only away from the leaving one.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "bench/sim_ids.hpp"
#include "policy/rendezvous.hpp"

namespace {

struct options {
  int nodes = 100;
  long orgs = 1'000'000;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0)
      o.nodes = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--orgs") == 0)
      o.orgs = std::atol(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: home_moves [--nodes N] [--orgs M]\n");
      std::exit(2);
    }
  }
  if (o.nodes < 2 || o.orgs < 1) {
    std::fprintf(stderr, "home_moves: need at least 2 nodes and 1 org\n");
    std::exit(2);
  }
  return o;
}

using gatehouse::bench::org_id;

std::vector<std::string> members(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i)
    out.push_back("gh-" + std::to_string(i));
  return out;
}

} // namespace

int main(int argc, char** argv) {
  using gatehouse::policy::home_node;
  auto o = parse(argc, argv);
  auto base = members(o.nodes);
  auto joined = members(o.nodes + 1);
  auto left = base;
  const std::string leaving = left.back();
  left.pop_back();
  const std::string joining = joined.back();

  auto t0 = std::chrono::steady_clock::now();
  std::map<std::string, long> per_node;
  long moved_join = 0, moved_leave = 0, wrong_join = 0, wrong_leave = 0;
  for (long i = 0; i < o.orgs; ++i) {
    auto id = org_id(i);
    auto home = home_node(base, id);
    ++per_node[home];
    auto after_join = home_node(joined, id);
    if (after_join != home) {
      ++moved_join;
      wrong_join += after_join != joining;
    }
    auto after_leave = home_node(left, id);
    if (after_leave != home) {
      ++moved_leave;
      wrong_leave += home != leaving;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                              - t0)
                  .count();

  long lo = o.orgs, hi = 0;
  double mean = static_cast<double>(o.orgs) / o.nodes, var = 0;
  for (auto& name : base) {
    long n = per_node[name];
    lo = std::min(lo, n);
    hi = std::max(hi, n);
    var += (n - mean) * (n - mean);
  }
  double sd = std::sqrt(var / o.nodes);
  std::printf("| %d nodes, %ld orgs | |\n|---|---:|\n", o.nodes, o.orgs);
  std::printf("| orgs per node: mean | %.0f |\n", mean);
  std::printf("| orgs per node: min / max | %ld / %ld (%+.1f%% / %+.1f%%) |\n",
              lo, hi, 100.0 * (lo - mean) / mean, 100.0 * (hi - mean) / mean);
  std::printf("| orgs per node: standard deviation | %.0f (%.2f%% of the mean) |\n",
              sd, 100.0 * sd / mean);
  std::printf("| moved when node %d joins | %ld (%.2f%%; 1/%d = %.2f%%) |\n",
              o.nodes + 1, moved_join, 100.0 * moved_join / o.orgs,
              o.nodes + 1, 100.0 / (o.nodes + 1));
  std::printf("| ... of which not to the joining node | %ld |\n", wrong_join);
  std::printf("| moved when one node leaves | %ld (%.2f%%; 1/%d = %.2f%%) |\n",
              moved_leave, 100.0 * moved_leave / o.orgs, o.nodes,
              100.0 / o.nodes);
  std::printf("| ... of which not from the leaving node | %ld |\n", wrong_leave);
  std::printf("| home lookups | %.0f ns each (%ld x %d members) |\n",
              1e9 * secs / (3.0 * o.orgs), o.orgs, o.nodes);
  return wrong_join == 0 && wrong_leave == 0 ? 0 : 1;
}
