// Request-log write throughput of a storage backend on its own: how many
// request logs per second `store::write_entries` commits, in batches as the
// storage writer hands them over (group commit), with the counters and key
// use each entry moves.
//
//   log_rows --db URL [--rows N] [--batch B] [--keys K]
//
// URL is `sqlite:///path/to/file.db` (created if absent) or a PostgreSQL
// URL. The schema is migrated first; one organization is added for the
// rows. Prints one JSON line: rows, seconds, rows per second, batches.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/store.hpp"

namespace {

using namespace gatehouse;

struct options {
  std::string db;
  long rows = 200000;
  long batch = 2000;
  long keys = 100;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "log_rows: %s\n"
               "usage: log_rows --db URL [--rows N] [--batch B] [--keys K]\n",
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
    if (a == "--db")
      o.db = v;
    else if (a == "--rows")
      o.rows = std::atol(v.c_str());
    else if (a == "--batch")
      o.batch = std::atol(v.c_str());
    else if (a == "--keys")
      o.keys = std::atol(v.c_str());
    else
      usage(("unknown option " + a).c_str());
  }
  if (o.db.empty())
    usage("--db is required");
  if (o.rows < 1 || o.batch < 1 || o.keys < 1)
    usage("--rows, --batch and --keys must be positive");
  return o;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// A log entry like the proxy writes for a small chat completion.
storage::log_write entry(const std::string& org_id, long i, long keys) {
  storage::log_write w;
  auto ms = now_ms();
  auto& l = w.log;
  l.id = policy::uuid_v7(ms);
  l.org_id = org_id;
  l.request_id = policy::uuid_v7(ms);
  l.key_id = "key-" + std::to_string(i % keys);
  l.key_prefix = "sk-gate-0123";
  l.provider = "openai";
  l.model = "gpt-4o-mini";
  l.method = "POST";
  l.path = "/v1/chat/completions";
  l.status = 200;
  l.tokens_in = 12;
  l.tokens_out = 34;
  l.cost_micros = 27;
  l.latency_ms = 3;
  l.created_at = policy::rfc3339_ms(ms);
  auto month = l.created_at.substr(0, 7);
  w.deltas.push_back({org_id, "key", *l.key_id, month, 1, 12, 34, 27});
  w.key = storage::key_use{*l.key_id, org_id, l.created_at, 1};
  return w;
}

} // namespace

int main(int argc, char** argv) {
  auto opt = parse(argc, argv);
  try {
    auto db = storage::open_database(opt.db);
    storage::migrate(*db);
    auto org_id = policy::uuid_v4();
    db->exec("INSERT INTO orgs (id, slug, name, plan, created_at) "
             "VALUES ($1, $2, 'Log rows', 'enterprise', $3)",
             {org_id, "log-rows-" + org_id.substr(0, 8),
              policy::rfc3339_ms(now_ms())});
    storage::store st{*db};
    long written = 0, batches = 0;
    double busy_s = 0;
    while (written < opt.rows) {
      long n = std::min(opt.batch, opt.rows - written);
      std::vector<storage::log_write> entries;
      entries.reserve(static_cast<std::size_t>(n));
      for (long i = 0; i < n; ++i)
        entries.push_back(entry(org_id, written + i, opt.keys));
      std::vector<bool> settled;
      auto t0 = std::chrono::steady_clock::now();
      st.write_entries(entries, settled,
                       [](const storage::log_write&, const storage::data_error& e) {
                         std::fprintf(stderr, "log_rows: refused: %s\n", e.what());
                       });
      busy_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                  .count();
      written += n;
      ++batches;
    }
    std::printf("{\"backend\":\"%s\",\"rows\":%ld,\"batch\":%ld,\"batches\":%ld,"
                "\"seconds\":%.3f,\"rows_per_s\":%.0f}\n",
                std::string(db->dialect()).c_str(), written, opt.batch, batches,
                busy_s, written / busy_s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "log_rows: %s\n", e.what());
    return 1;
  }
  return 0;
}
