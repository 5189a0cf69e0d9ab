#pragma once

// Ids shaped like the gateway's, for the cluster simulations
// (bench/home_moves, bench/lease_traffic).

#include <cstdio>
#include <string>

namespace gatehouse::bench {

/// An org id shaped like the gateway's (a UUID's text), distinct per index.
inline std::string org_id(long i) {
  char buf[64];
  auto x = static_cast<unsigned long long>(i) * 0x9E3779B97F4A7C15ULL;
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                x >> 32, (x >> 16) & 0xffff, (x >> 4) & 0xfff,
                static_cast<unsigned long long>(i) & 0xfff,
                static_cast<unsigned long long>(i));
  return buf;
}

} // namespace gatehouse::bench
