#pragma once

// What the actor tests share: a scratch directory and database, and a
// seeded organization.

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include "actors/messages.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/secrets.hpp"
#include "storage/store.hpp"

namespace gatehouse::testing {

/// A fresh directory under the system's temp dir.
inline std::string temp_dir() {
  auto path = (std::filesystem::temp_directory_path() / "gh-test-XXXXXX")
                .string();
  if (!mkdtemp(path.data()))
    throw std::runtime_error("mkdtemp failed");
  return path;
}

/// A migrated SQLite database in a scratch directory (removed at the end)
/// and a node's secrets: what a test of org actors starts from.
struct scratch_db {
  std::string dir = temp_dir();
  storage::connection_pool pool{"sqlite://" + dir + "/t.db", 2};
  std::shared_ptr<storage::secrets> secrets =
    std::make_shared<storage::secrets>(
      storage::secrets{policy::random_bytes(32), "jwt-secret"});

  scratch_db() {
    auto lease = pool.acquire();
    storage::migrate(*lease);
  }

  ~scratch_db() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

/// An audit entry for `action` in `org_id` at `now_s`.
inline storage::audit_record audit_entry(const std::string& org_id,
                                         const char* action, long long now_s) {
  storage::audit_record a;
  a.id = policy::uuid_v4();
  a.org_id = org_id;
  a.action = action;
  a.created_at = policy::rfc3339(now_s);
  return a;
}

/// A key of user "u1" in `org_id` for the raw key `raw`.
inline storage::api_key_record key_for(const std::string& raw,
                                       const std::string& org_id,
                                       long long now_s) {
  storage::api_key_record k;
  k.id = policy::uuid_v4();
  k.org_id = org_id;
  k.user_id = "u1";
  k.name = "k";
  k.key_hash = policy::key_hash(raw);
  k.key_prefix = policy::key_prefix(raw);
  k.created_at = policy::rfc3339(now_s);
  return k;
}

/// Signs up org "acme" on `plan` with owner "u1" and the key `raw` as its
/// first key; answers the org.
inline storage::org_record seed_org(storage::store& st, const std::string& plan,
                                    const std::string& raw, long long now_s) {
  storage::org_record org;
  org.id = policy::uuid_v4();
  org.slug = "acme";
  org.name = "Acme";
  org.plan = plan;
  org.created_at = policy::rfc3339(now_s);
  storage::user_record user{"u1", "a@example.com", "A", "x",
                            policy::rfc3339(now_s)};
  storage::membership_record m;
  m.org_id = org.id;
  m.user_id = "u1";
  m.role = "owner";
  m.joined_at = policy::rfc3339(now_s);
  st.create_signup(org, user, true, m, key_for(raw, org.id, now_s),
                   audit_entry(org.id, "org.create", now_s));
  return org;
}

/// The default provider "openai" of `org_id`, its key sealed with
/// `secrets`, created at `now_s`.
inline storage::provider_record openai_provider(
  const storage::secrets& secrets, const std::string& org_id,
  long long now_s) {
  storage::provider_record p;
  p.id = policy::uuid_v4();
  p.org_id = org_id;
  p.name = "openai";
  p.base_url = "https://api.openai.com";
  p.api_key_encrypted = storage::seal_secret(secrets, "sk-x",
                                             actors::provider_key_aad(p.id));
  p.is_default = true;
  p.created_at = policy::rfc3339(now_s);
  p.updated_at = p.created_at;
  return p;
}

} // namespace gatehouse::testing
