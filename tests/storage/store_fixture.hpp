#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"
#include "tests/storage/backend_fixture.hpp"

namespace gatehouse::storage::testing {

/// A time for rows whose time does not matter.
inline const std::string t0 = "2026-01-01T00:00:00Z";

/// Everything create_signup takes.
struct signup {
  org_record org;
  user_record user;
  membership_record membership;
  api_key_record key;
  audit_record audit;
};

/// A migrated scratch database with a store on it, and builders of rows.
class store_test : public backend_test {
protected:
  void SetUp() override {
    backend_test::SetUp();
    if (HasFatalFailure())
      return;
    migrate(db());
    store_ = std::make_unique<store>(db());
  }

  void TearDown() override {
    store_.reset();
    backend_test::TearDown();
  }

  store& st() {
    return *store_;
  }

  std::string next_id(const std::string& prefix) {
    return prefix + "-" + std::to_string(++ids_);
  }

  audit_record make_audit(const std::string& org_id, const std::string& action,
                          const std::string& at = t0) {
    audit_record a;
    a.id = next_id("audit");
    a.org_id = org_id;
    a.actor_type = "user";
    a.actor_id = "someone";
    a.action = action;
    a.target_type = "thing";
    a.target_id = "thing-1";
    a.after_json = R"({"x":1})";
    a.ip = "127.0.0.1";
    a.created_at = at;
    return a;
  }

  api_key_record make_key(const std::string& org_id, const std::string& user_id,
                          const std::string& created_at = t0) {
    api_key_record k;
    k.id = next_id("key");
    k.org_id = org_id;
    k.user_id = user_id;
    k.name = "Key " + k.id;
    k.key_hash = "hash-" + k.id;
    k.key_prefix = "sk-gate-" + k.id.substr(0, 4);
    k.created_at = created_at;
    return k;
  }

  signup make_signup(const std::string& slug, const std::string& email,
                     const std::string& at = t0) {
    signup s;
    s.org.id = next_id("org");
    s.org.slug = slug;
    s.org.name = "Org " + slug;
    s.org.plan = "free";
    s.org.created_at = at;
    s.user.id = next_id("user");
    s.user.email = email;
    s.user.display_name = "User " + email;
    s.user.password_hash = "$2b$04$hash";
    s.user.created_at = at;
    s.membership.org_id = s.org.id;
    s.membership.user_id = s.user.id;
    s.membership.role = "owner";
    s.membership.joined_at = at;
    s.key = make_key(s.org.id, s.user.id, at);
    s.key.name = "Default";
    s.audit = make_audit(s.org.id, "org.create", at);
    return s;
  }

  /// Signs `s` up; for an existing user, the membership and key point at
  /// `existing_user_id`.
  void do_signup(signup& s, bool new_user = true,
                 const std::string& existing_user_id = "") {
    if (!new_user) {
      s.user.id = existing_user_id;
      s.membership.user_id = existing_user_id;
      s.key.user_id = existing_user_id;
    }
    st().create_signup(s.org, s.user, new_user, s.membership, s.key, s.audit);
  }

  /// Signs up a fresh organization with a fresh owner.
  signup new_org(const std::string& slug) {
    auto s = make_signup(slug, slug + "@example.com");
    do_signup(s);
    return s;
  }

  std::int64_t count(const std::string& table) {
    return db().exec("SELECT COUNT(*) FROM " + table).at(0).int64(0);
  }

  void add_team(const std::string& org_id, const std::string& id) {
    db().exec("INSERT INTO teams (id, org_id, name, created_at) "
              "VALUES ($1, $2, $3, $4)",
              {id, org_id, "team " + id, t0});
  }

  void add_app(const std::string& org_id, const std::string& id) {
    db().exec("INSERT INTO apps (id, org_id, name, slug, created_at) "
              "VALUES ($1, $2, $3, $4, $5)",
              {id, org_id, "app " + id, id, t0});
  }

private:
  std::unique_ptr<store> store_;
  int ids_ = 0;
};

} // namespace gatehouse::storage::testing
