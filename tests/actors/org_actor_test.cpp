#define CAF_SUITE org_actor

#include "actors/org_actor.hpp"

#include <cstdlib>
#include <filesystem>

#include <caf/test/dsl.hpp>

#include "actors/directory.hpp"
#include "test_support.hpp"
#include "actors/storage_worker.hpp"
#include "actors/storage_writer.hpp"
#include "policy/crypto.hpp"
#include "policy/api_key.hpp"
#include "policy/outcome.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

constexpr int64_t t0 = 1'800'000'000; // a fixed "now"

struct fixture : test_coordinator_fixture<> {
  std::string dir = testing::temp_dir();
  storage::connection_pool pool{"sqlite://" + dir + "/t.db", 2};
  std::shared_ptr<directory> dirs = std::make_shared<directory>();
  std::string signup_raw = policy::generate_api_key();
  storage::org_record org;
  caf::actor db;
  storage_writer_actor writer;
  org_actor org_hdl;
  audit_ctx who{"user", "u1", "127.0.0.1", t0};

  fixture() {
    auto lease = pool.acquire();
    storage::migrate(*lease);
    storage::store st{*lease};
    org = testing::seed_org(st, "free", signup_raw, t0);
    db = sys.spawn(storage_worker, &pool);
    org_snapshot snap{org, st.load_org_keys(org.id)};
    writer = sys.spawn(storage_writer_impl, db, nullptr, nullptr);
    org_hdl = sys.spawn(
      org_actor_impl, snap,
      org_links{dirs, db, writer,
                std::make_shared<storage::secrets>(storage::secrets{
                  policy::random_bytes(32), "jwt-secret"})});
    sched.run();
  }

  ~fixture() {
    // The base fixture runs pending work after these members are gone: stop
    // the actors that use them first.
    caf::anon_send_exit(org_hdl, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(db, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
    sched.run();
    std::filesystem::remove_all(dir);
  }

  template <class T, class... Ts>
  policy::outcome<T> ask(Ts&&... xs) {
    auto rh = self->request(org_hdl, caf::infinite, std::forward<Ts>(xs)...);
    sched.run();
    std::optional<policy::outcome<T>> out;
    rh.receive([&](T& x) { out.emplace(std::move(x)); },
               [&](caf::error& e) { out.emplace(to_problem(e)); });
    return std::move(*out);
  }

  key_verdict check(const std::string& raw, int64_t now) {
    auto v = ask<key_verdict>(authkey_atom_v, policy::key_hash(raw), now);
    if (!v.ok())
      CAF_FAIL("authkey failed: " << v.error().message);
    return v.value();
  }

  policy::outcome<storage::api_key_record> create(const std::string& raw) {
    return ask<storage::api_key_record>(create_key_atom_v,
                                        testing::key_for(raw, org.id, t0), who);
  }

  int64_t stored_active_keys() {
    auto lease = pool.acquire();
    return storage::store{*lease}.count_active_keys(org.id);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(org_actor_tests, fixture)

CAF_TEST(a loaded key is valid and an unknown one is not) {
  auto v = check(signup_raw, t0);
  CAF_CHECK(v.valid);
  CAF_CHECK_EQUAL(v.scopes, std::vector<std::string>{"*"});
  CAF_CHECK(!check(policy::generate_api_key(), t0).valid);
}

CAF_TEST(created keys are stored and indexed and usable) {
  auto raw = policy::generate_api_key();
  auto rec = create(raw);
  CAF_REQUIRE(rec.ok());
  CAF_CHECK(check(raw, t0).valid);
  CAF_CHECK(dirs->org_of_key(policy::key_hash(raw)) == org.id);
  CAF_CHECK_EQUAL(stored_active_keys(), 2);
}

CAF_TEST(the free plan stops at five active keys and revoking frees one) {
  std::vector<storage::api_key_record> made;
  for (int i = 0; i < 4; ++i) {
    auto rec = create(policy::generate_api_key());
    CAF_REQUIRE(rec.ok());
    made.push_back(rec.value());
  }
  auto sixth = create(policy::generate_api_key());
  CAF_REQUIRE(!sixth.ok());
  CAF_CHECK(sixth.error().code == policy::errc::limit_exceeded);
  // The refused key left nothing behind.
  CAF_CHECK_EQUAL(stored_active_keys(), 5);
  auto revoked = ask<storage::api_key_record>(revoke_key_atom_v, made[0].id,
                                              who);
  CAF_REQUIRE(revoked.ok());
  CAF_CHECK_EQUAL(revoked->status, "revoked");
  CAF_CHECK(create(policy::generate_api_key()).ok());
  CAF_CHECK_EQUAL(stored_active_keys(), 5);
}

CAF_TEST(the enterprise plan takes effect at once) {
  for (int i = 0; i < 4; ++i)
    CAF_REQUIRE(create(policy::generate_api_key()).ok());
  CAF_CHECK(!create(policy::generate_api_key()).ok());
  auto up = ask<storage::org_record>(set_plan_atom_v, std::string{"enterprise"},
                                     who);
  CAF_REQUIRE(up.ok());
  CAF_CHECK_EQUAL(up->plan, "enterprise");
  CAF_CHECK(create(policy::generate_api_key()).ok());
  auto lease = pool.acquire();
  // CAF_CHECK_EQUAL binds its operands to references: keep the record alive.
  auto stored = storage::store{*lease}.find_org(org.id);
  CAF_REQUIRE(stored.has_value());
  CAF_CHECK_EQUAL(stored->plan, "enterprise");
}

CAF_TEST(a revoked key is refused on the next check) {
  auto raw = policy::generate_api_key();
  auto rec = create(raw);
  CAF_REQUIRE(rec.ok());
  CAF_REQUIRE(
    ask<storage::api_key_record>(revoke_key_atom_v, rec->id, who).ok());
  auto v = check(raw, t0);
  CAF_CHECK(!v.valid);
  CAF_CHECK_EQUAL(v.reason, "API key has been revoked");
  CAF_CHECK(!dirs->org_of_key(policy::key_hash(raw)));
}

CAF_TEST(a rotated key keeps working only during its overlap) {
  auto old_raw = policy::generate_api_key();
  auto rec = create(old_raw);
  CAF_REQUIRE(rec.ok());
  auto new_raw = policy::generate_api_key();
  auto rotated = ask<storage::api_key_record>(
    rotate_key_atom_v, rec->id, policy::key_hash(new_raw),
    policy::key_prefix(new_raw), int32_t{2}, who);
  CAF_REQUIRE(rotated.ok());
  CAF_CHECK_EQUAL(rotated->id, rec->id);
  CAF_CHECK(check(new_raw, t0).valid);
  CAF_CHECK(check(old_raw, t0 + 2 * 3600 - 1).valid);
  auto late = check(old_raw, t0 + 2 * 3600);
  CAF_CHECK(!late.valid);
  CAF_CHECK_EQUAL(late.reason,
                  "API key was rotated and its overlap period has ended");
  CAF_CHECK(check(new_raw, t0 + 2 * 3600).valid);
  // The rotation is durable.
  auto lease = pool.acquire();
  auto stored = storage::store{*lease}.find_key(org.id, rec->id);
  CAF_CHECK_EQUAL(stored->key_hash, policy::key_hash(new_raw));
}

CAF_TEST(rotation with zero overlap refuses the old key at once) {
  auto old_raw = policy::generate_api_key();
  auto rec = create(old_raw);
  auto new_raw = policy::generate_api_key();
  CAF_REQUIRE(ask<storage::api_key_record>(rotate_key_atom_v, rec->id,
                                           policy::key_hash(new_raw),
                                           policy::key_prefix(new_raw),
                                           int32_t{0}, who)
                .ok());
  CAF_CHECK(!check(old_raw, t0).valid);
  CAF_CHECK(check(new_raw, t0).valid);
}

CAF_TEST(an expired key is refused) {
  auto raw = policy::generate_api_key();
  auto k = testing::key_for(raw, org.id, t0);
  k.expires_at = policy::rfc3339(t0 + 60);
  CAF_REQUIRE(ask<storage::api_key_record>(create_key_atom_v, k, who).ok());
  CAF_CHECK(check(raw, t0 + 59).valid);
  auto v = check(raw, t0 + 60);
  CAF_CHECK(!v.valid);
  CAF_CHECK_EQUAL(v.reason, "API key has expired");
}

CAF_TEST(a plan changed outside the actor is picked up when announced) {
  for (int i = 0; i < 4; ++i)
    CAF_REQUIRE(create(policy::generate_api_key()).ok());
  {
    // What `gatehouse admin set-plan` does while the node runs.
    auto lease = pool.acquire();
    storage::store{*lease}.set_org_plan(
      org.id, "enterprise", testing::audit_entry(org.id, "org.plan", t0));
  }
  CAF_CHECK(!create(policy::generate_api_key()).ok());
  // No timer of its own: the change watcher tells it.
  CAF_CHECK(!sched.has_pending_timeout());
  self->send(org_hdl, refresh_atom_v);
  sched.run();
  CAF_CHECK(create(policy::generate_api_key()).ok());
}

CAF_TEST(unknown key ids are not found) {
  auto r = ask<storage::api_key_record>(revoke_key_atom_v,
                                        policy::uuid_v4(), who);
  CAF_REQUIRE(!r.ok());
  CAF_CHECK(r.error().code == policy::errc::not_found);
}

CAF_TEST_FIXTURE_SCOPE_END()
