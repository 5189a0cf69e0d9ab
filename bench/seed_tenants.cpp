// Writes many organizations and API keys straight into a Gatehouse store,
// for the tenant-scale benchmark (bench/tenants.sh).
//
//   seed_tenants --data-dir DIR --orgs N --keys M --upstream URL
//                [--active A] [--keys-out FILE] [--database URL]
//
// Run `gatehouse migrate --data-dir DIR` first. Every org is on the
// enterprise plan with a provider `openai` at URL (its key sealed with the
// data dir's master key, as the server does), a team with a large monthly
// budget, and M/N keys in that team. Key i belongs to org i mod N; its raw
// value is derived from i, so the same arguments always give the same keys.
// The raw keys of the first A orgs are written to FILE, one a line, round
// robin: the first A lines are one key of each active org (the first line
// a key of org 0), then their second keys, and so on.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/secrets.hpp"

namespace {

using namespace gatehouse;

struct options {
  std::string data_dir;
  std::string database;
  std::string upstream;
  std::string keys_out;
  long orgs = 100000;
  long keys = 1000000;
  long active = 10000;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "seed_tenants: " << why
            << "\nusage: seed_tenants --data-dir DIR --orgs N --keys M "
               "--upstream URL [--active A] [--keys-out FILE] "
               "[--database URL]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc)
      usage("missing value of " + a);
    std::string v = argv[++i];
    if (a == "--data-dir")
      o.data_dir = v;
    else if (a == "--database")
      o.database = v;
    else if (a == "--upstream")
      o.upstream = v;
    else if (a == "--keys-out")
      o.keys_out = v;
    else if (a == "--orgs")
      o.orgs = std::stol(v);
    else if (a == "--keys")
      o.keys = std::stol(v);
    else if (a == "--active")
      o.active = std::stol(v);
    else
      usage("unknown option " + a);
  }
  if (o.data_dir.empty() || o.upstream.empty())
    usage("--data-dir and --upstream are required");
  if (o.orgs < 1 || o.keys < o.orgs || o.active > o.orgs)
    usage("need 1 <= orgs <= keys and active <= orgs");
  if (o.database.empty())
    o.database = "sqlite://" + o.data_dir + "/gatehouse.db";
  return o;
}

/// A UUID-shaped id: `kind` in the first group, `n` in the last.
std::string id_of(unsigned kind, long n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012lx", kind,
                static_cast<unsigned long>(n));
  return buf;
}

/// The raw API key number `i`: sk-gate- and 64 hex digits.
std::string raw_key(long i) {
  return std::string{policy::api_key_prefix}
         + policy::sha256_hex("gatehouse-bench-key-" + std::to_string(i));
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  auto started = std::chrono::steady_clock::now();
  auto secrets = storage::load_or_create_secrets(o.data_dir, "", "");
  auto db = storage::open_database(o.database);
  auto now = policy::rfc3339(std::time(nullptr));
  const std::string user_id = id_of(0x5eed0000, 0);

  db->begin();
  db->exec("INSERT INTO users (id, email, display_name, password_hash, "
           "created_at) VALUES ($1, $2, $3, NULL, $4)",
           {user_id, "bench-seed@example.com", "Bench seed", now});
  for (long n = 0; n < o.orgs; ++n) {
    auto org = id_of(0x5eed0001, n);
    char slug[32];
    std::snprintf(slug, sizeof slug, "tenant-%07ld", n);
    db->exec("INSERT INTO orgs (id, slug, name, plan, settings, created_at) "
             "VALUES ($1, $2, $3, 'enterprise', '{}', $4)",
             {org, std::string{slug}, std::string{"Tenant "} + slug, now});
    auto provider = id_of(0x5eed0002, n);
    db->exec("INSERT INTO providers (id, org_id, name, base_url, auth_mode, "
             "api_key_encrypted, api_key_last4, is_default, created_at, "
             "updated_at) VALUES ($1, $2, 'openai', $3, 'api_key', $4, "
             "'seed', 1, $5, $5)",
             {provider, org, o.upstream,
              storage::seal_secret(secrets, "sk-mock-tenant-seed",
                                   actors::provider_key_aad(provider)),
              now});
    db->exec("INSERT INTO teams (id, org_id, name, description, "
             "monthly_spend_limit_micros, created_at) "
             "VALUES ($1, $2, 'bench', '', $3, $4)",
             {id_of(0x5eed0003, n), org,
              std::int64_t{1'000'000} * 1'000'000, now});
  }
  std::ofstream out;
  if (!o.keys_out.empty())
    out.open(o.keys_out);
  const long per_org = o.keys / o.orgs;
  std::vector<std::string> active_keys;
  for (long i = 0; i < o.keys; ++i) {
    long n = i % o.orgs;
    auto raw = raw_key(i);
    db->exec("INSERT INTO api_keys (id, org_id, user_id, name, key_hash, "
             "key_prefix, team_id, created_at) "
             "VALUES ($1, $2, $3, 'seed', $4, $5, $6, $7)",
             {id_of(0x5eed0004, i), id_of(0x5eed0001, n), user_id,
              policy::key_hash(raw), policy::key_prefix(raw),
              id_of(0x5eed0003, n), now});
    if (out && n < o.active)
      active_keys.push_back(std::move(raw));
  }
  db->commit();
  for (auto& k : active_keys)
    out << k << '\n';
  auto took = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - started)
                .count();
  std::cout << "seeded " << o.orgs << " orgs and " << o.keys << " keys ("
            << per_org << " per org) in " << took << " s\n";
  return 0;
}
