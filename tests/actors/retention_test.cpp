#define CAF_SUITE retention

#include "actors/retention.hpp"
#include "test_support.hpp"

#include <cstdlib>
#include <filesystem>

#include <caf/test/dsl.hpp>

#include "policy/api_key.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

using namespace gatehouse;

namespace {

constexpr long long day = 24 * 3600;
constexpr long long now = 1'800'000'000;

struct fixture {
  std::string dir = testing::temp_dir();
  storage::connection_pool pool{"sqlite://" + dir + "/t.db", 1};

  fixture() {
    auto lease = pool.acquire();
    storage::migrate(*lease);
  }

  ~fixture() {
    std::filesystem::remove_all(dir);
  }

  /// An org on `plan` with `settings`, and logs aged 1, 8, 30 and 100 days.
  std::string org(const std::string& slug, const std::string& plan,
                  const std::string& settings) {
    auto lease = pool.acquire();
    storage::store st{*lease};
    storage::org_record o;
    o.id = policy::uuid_v4();
    o.slug = slug;
    o.name = slug;
    o.plan = plan;
    o.settings_json = settings;
    o.created_at = policy::rfc3339(now);
    storage::user_record u{policy::uuid_v4(), slug + "@example.com", "U", "x",
                           policy::rfc3339(now)};
    storage::membership_record m;
    m.org_id = o.id;
    m.user_id = u.id;
    m.role = "owner";
    m.joined_at = policy::rfc3339(now);
    storage::api_key_record k;
    k.id = policy::uuid_v4();
    k.org_id = o.id;
    k.user_id = u.id;
    k.name = "k";
    k.key_hash = policy::key_hash(policy::generate_api_key());
    k.key_prefix = "sk-gate-0000";
    k.created_at = policy::rfc3339(now);
    storage::audit_record a;
    a.id = policy::uuid_v4();
    a.org_id = o.id;
    a.action = "org.create";
    a.created_at = policy::rfc3339(now);
    st.create_signup(o, u, true, m, k, a);
    std::vector<storage::request_log_record> logs;
    for (long long age : {1, 8, 30, 100}) {
      storage::request_log_record r;
      r.id = policy::uuid_v4();
      r.org_id = o.id;
      r.request_id = r.id;
      r.status = 200;
      r.created_at = policy::rfc3339_ms((now - age * day) * 1000);
      logs.push_back(r);
    }
    st.write_batch(logs, {}, {});
    return o.id;
  }

  size_t logs_of(const std::string& org_id) {
    auto lease = pool.acquire();
    return storage::store{*lease}
      .query_logs(org_id, {}, std::nullopt, 100)
      .logs.size();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(retention_tests, fixture)

CAF_TEST(each org keeps its logs as long as its plan allows) {
  auto free_org = org("free-org", "free", "{}");
  auto default_ent = org("ent-default", "enterprise", "{}");
  auto short_ent = org("ent-short", "enterprise",
                       R"({"log_retention_days": 20})");
  auto forever = org("ent-forever", "enterprise",
                     R"({"log_retention_days": null})");
  long long deleted = 0;
  {
    auto lease = pool.acquire();
    deleted = actors::sweep_expired_logs(storage::store{*lease}, now);
  }
  // free keeps 7 days (1), enterprise 90 by default (1, 8, 30), 20 days
  // (1, 8), and null keeps everything.
  CAF_CHECK_EQUAL(logs_of(free_org), 1u);
  CAF_CHECK_EQUAL(logs_of(default_ent), 3u);
  CAF_CHECK_EQUAL(logs_of(short_ent), 2u);
  CAF_CHECK_EQUAL(logs_of(forever), 4u);
  CAF_CHECK_EQUAL(deleted, 3 + 1 + 2);
}

CAF_TEST_FIXTURE_SCOPE_END()
