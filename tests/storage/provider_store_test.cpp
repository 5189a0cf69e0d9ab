#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/store.hpp"
#include "tests/storage/store_fixture.hpp"

namespace gatehouse::storage {
namespace {

using testing::t0;

class ProviderStoreTest : public testing::store_test {
protected:
  provider_record make_provider(const std::string& org_id,
                                const std::string& name,
                                std::vector<std::string> fallback = {}) {
    provider_record p;
    p.id = next_id("provider");
    p.org_id = org_id;
    p.name = name;
    p.base_url = "https://" + name + ".example.com/v1";
    p.api_key_encrypted = "a1b2c3d4";
    p.api_key_last4 = "wxyz";
    p.fallback = std::move(fallback);
    p.created_at = t0;
    p.updated_at = t0;
    return p;
  }

  void add(const provider_record& p) {
    st().insert_provider(p, make_audit(p.org_id, "provider.create"));
  }

  /// The names of the organization's default providers.
  std::vector<std::string> defaults(const std::string& org_id) {
    std::vector<std::string> out;
    for (const auto& p : st().list_providers(org_id)) {
      if (p.is_default)
        out.push_back(p.name);
    }
    return out;
  }

  using names = std::vector<std::string>;
};

GH_INSTANTIATE_BACKEND_SUITE(ProviderStoreTest);

TEST_P(ProviderStoreTest, InsertFindListAndCount) {
  auto s = new_org("acme");
  auto anthropic = make_provider(s.org.id, "anthropic");
  anthropic.auth_header = "x-api-key";
  anthropic.auth_scheme = "";
  anthropic.fallback = {"openai", "my-local_llm"};
  add(make_provider(s.org.id, "openai"));
  add(anthropic);
  auto local = make_provider(s.org.id, "my-local_llm");
  local.auth_mode = "passthrough";
  local.api_key_encrypted = std::nullopt;
  local.api_key_last4 = std::nullopt;
  add(local);

  auto got = st().find_provider(s.org.id, "anthropic");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, anthropic.id);
  EXPECT_EQ(got->org_id, s.org.id);
  EXPECT_EQ(got->base_url, "https://anthropic.example.com/v1");
  EXPECT_EQ(got->auth_mode, "api_key");
  EXPECT_EQ(got->api_key_encrypted, "a1b2c3d4");
  EXPECT_EQ(got->api_key_last4, "wxyz");
  EXPECT_EQ(got->auth_header, "x-api-key");
  EXPECT_EQ(got->auth_scheme, "");
  EXPECT_EQ(got->fallback, (names{"openai", "my-local_llm"}));
  EXPECT_FALSE(got->is_default);
  EXPECT_EQ(got->created_at, t0);
  EXPECT_EQ(got->updated_at, t0);

  auto bare = st().find_provider(s.org.id, "my-local_llm");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->auth_mode, "passthrough");
  EXPECT_EQ(bare->api_key_encrypted, std::nullopt);
  EXPECT_EQ(bare->api_key_last4, std::nullopt);
  EXPECT_EQ(bare->auth_header, "Authorization");
  EXPECT_EQ(bare->auth_scheme, "Bearer");
  EXPECT_TRUE(bare->fallback.empty());

  names listed;
  for (const auto& p : st().list_providers(s.org.id))
    listed.push_back(p.name);
  EXPECT_EQ(listed, (names{"anthropic", "my-local_llm", "openai"}));
  EXPECT_EQ(st().count_providers(s.org.id), 3);
  EXPECT_EQ(count("audit_log"), 4);

  // Nothing of another organization is visible.
  auto other = new_org("globex");
  EXPECT_FALSE(st().find_provider(other.org.id, "openai"));
  EXPECT_TRUE(st().list_providers(other.org.id).empty());
  EXPECT_EQ(st().count_providers(other.org.id), 0);
}

TEST_P(ProviderStoreTest, ATakenNameConflictsWithinTheOrgOnly) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  add(make_provider(s.org.id, "openai"));
  const auto audits = count("audit_log");
  try {
    add(make_provider(s.org.id, "openai"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "providers.name");
  }
  EXPECT_EQ(count("audit_log"), audits);
  EXPECT_EQ(st().count_providers(s.org.id), 1);
  EXPECT_FALSE(db().in_transaction());
  add(make_provider(other.org.id, "openai"));
  EXPECT_EQ(st().count_providers(other.org.id), 1);
}

TEST_P(ProviderStoreTest, UpdateStoresEverythingButIdentityAndDefault) {
  auto s = new_org("acme");
  auto p = make_provider(s.org.id, "openai");
  p.is_default = true;
  add(p);
  add(make_provider(s.org.id, "backup"));

  auto changed = p;
  changed.base_url = "https://proxy.example.com";
  changed.auth_mode = "passthrough";
  changed.api_key_encrypted = std::nullopt;
  changed.api_key_last4 = std::nullopt;
  changed.auth_header = "api-key";
  changed.auth_scheme = "";
  changed.fallback = {"backup"};
  changed.is_default = false;                  // not changed by an update
  changed.created_at = "1999-01-01T00:00:00Z"; // nor the creation time
  changed.updated_at = "2026-02-01T00:00:00Z";
  EXPECT_TRUE(
    st().update_provider(changed, make_audit(s.org.id, "provider.update")));
  auto got = st().find_provider(s.org.id, "openai");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->base_url, "https://proxy.example.com");
  EXPECT_EQ(got->auth_mode, "passthrough");
  EXPECT_EQ(got->api_key_encrypted, std::nullopt);
  EXPECT_EQ(got->api_key_last4, std::nullopt);
  EXPECT_EQ(got->auth_header, "api-key");
  EXPECT_EQ(got->auth_scheme, "");
  EXPECT_EQ(got->fallback, names{"backup"});
  EXPECT_TRUE(got->is_default);
  EXPECT_EQ(got->created_at, t0);
  EXPECT_EQ(got->updated_at, "2026-02-01T00:00:00Z");
  EXPECT_EQ(count("audit_log"), 4);

  // Unknown id, or the id of another organization's provider: no change.
  auto other = new_org("globex");
  auto missing = changed;
  missing.id = "nope";
  EXPECT_FALSE(
    st().update_provider(missing, make_audit(s.org.id, "provider.update")));
  auto foreign = changed;
  foreign.org_id = other.org.id;
  EXPECT_FALSE(
    st().update_provider(foreign, make_audit(other.org.id, "provider.update")));
  EXPECT_EQ(count("audit_log"), 5); // the signup of globex only

  // A rename onto a taken name conflicts and changes nothing.
  auto clash = changed;
  clash.name = "backup";
  try {
    st().update_provider(clash, make_audit(s.org.id, "provider.update"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "providers.name");
  }
  EXPECT_TRUE(st().find_provider(s.org.id, "openai"));
  EXPECT_EQ(count("audit_log"), 5);
}

TEST_P(ProviderStoreTest, OneDefaultAtATime) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  auto a = make_provider(s.org.id, "alpha");
  a.is_default = true;
  add(a);
  add(make_provider(s.org.id, "bravo"));
  auto elsewhere = make_provider(other.org.id, "alpha");
  elsewhere.is_default = true;
  add(elsewhere);
  EXPECT_EQ(defaults(s.org.id), names{"alpha"});

  EXPECT_TRUE(st().set_default_provider(
    s.org.id, "bravo", make_audit(s.org.id, "provider.default")));
  EXPECT_EQ(defaults(s.org.id), names{"bravo"});
  EXPECT_TRUE(st().find_provider(s.org.id, "bravo")->is_default);
  EXPECT_FALSE(st().find_provider(s.org.id, "alpha")->is_default);

  // Setting it again keeps it.
  EXPECT_TRUE(st().set_default_provider(
    s.org.id, "bravo", make_audit(s.org.id, "provider.default")));
  EXPECT_EQ(defaults(s.org.id), names{"bravo"});

  // An unknown name changes nothing, not even the current default.
  const auto audits = count("audit_log");
  EXPECT_FALSE(st().set_default_provider(
    s.org.id, "nope", make_audit(s.org.id, "provider.default")));
  EXPECT_EQ(defaults(s.org.id), names{"bravo"});
  EXPECT_EQ(count("audit_log"), audits);
  EXPECT_FALSE(db().in_transaction());

  // A provider created as the default takes the role over.
  auto c = make_provider(s.org.id, "charlie");
  c.is_default = true;
  add(c);
  EXPECT_EQ(defaults(s.org.id), names{"charlie"});

  // Deleting the default leaves the organization without one.
  EXPECT_TRUE(st().delete_provider(s.org.id, "charlie",
                                   make_audit(s.org.id, "provider.delete")));
  EXPECT_TRUE(defaults(s.org.id).empty());
  EXPECT_TRUE(st().set_default_provider(
    s.org.id, "alpha", make_audit(s.org.id, "provider.default")));
  EXPECT_EQ(defaults(s.org.id), names{"alpha"});

  // The other organization's default was never touched.
  EXPECT_EQ(defaults(other.org.id), names{"alpha"});
}

TEST_P(ProviderStoreTest, TheSchemaAllowsOneDefaultPerOrg) {
  auto s = new_org("acme");
  add(make_provider(s.org.id, "alpha"));
  add(make_provider(s.org.id, "bravo"));
  db().exec("UPDATE providers SET is_default = 1 WHERE name = 'alpha'");
  try {
    db().exec("UPDATE providers SET is_default = 1 WHERE name = 'bravo'");
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "providers.is_default");
  }
}

TEST_P(ProviderStoreTest, DeleteRemovesTheNameFromFallbackLists) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  add(make_provider(s.org.id, "alpha", {"bravo", "charlie", "delta"}));
  add(make_provider(s.org.id, "bravo", {"charlie"}));
  add(make_provider(s.org.id, "charlie", {"alpha"}));
  add(make_provider(s.org.id, "delta"));
  add(make_provider(other.org.id, "alpha", {"charlie"}));
  add(make_provider(other.org.id, "charlie"));

  const auto audits = count("audit_log");
  EXPECT_TRUE(st().delete_provider(s.org.id, "charlie",
                                   make_audit(s.org.id, "provider.delete")));
  EXPECT_FALSE(st().find_provider(s.org.id, "charlie"));
  EXPECT_EQ(st().find_provider(s.org.id, "alpha")->fallback,
            (names{"bravo", "delta"}));
  EXPECT_TRUE(st().find_provider(s.org.id, "bravo")->fallback.empty());
  EXPECT_EQ(st().find_provider(s.org.id, "delta")->fallback, names{});
  EXPECT_EQ(count("audit_log"), audits + 1);
  // The other organization's lists name its own providers.
  EXPECT_EQ(st().find_provider(other.org.id, "alpha")->fallback,
            names{"charlie"});

  EXPECT_FALSE(st().delete_provider(s.org.id, "charlie",
                                    make_audit(s.org.id, "provider.delete")));
  EXPECT_FALSE(st().delete_provider(s.org.id, "nope",
                                    make_audit(s.org.id, "provider.delete")));
  EXPECT_EQ(count("audit_log"), audits + 1);
  EXPECT_EQ(st().count_providers(s.org.id), 3);
  EXPECT_EQ(st().count_providers(other.org.id), 2);
}

TEST_P(ProviderStoreTest, ARenameCarriesIntoFallbackLists) {
  auto s = new_org("acme");
  add(make_provider(s.org.id, "alpha", {"bravo", "delta"}));
  add(make_provider(s.org.id, "delta", {"bravo"}));
  auto b = make_provider(s.org.id, "bravo");
  add(b);
  b.name = "bee";
  EXPECT_TRUE(st().update_provider(b, make_audit(s.org.id, "provider.update")));
  EXPECT_FALSE(st().find_provider(s.org.id, "bravo"));
  EXPECT_EQ(st().find_provider(s.org.id, "bee")->id, b.id);
  EXPECT_EQ(st().find_provider(s.org.id, "alpha")->fallback,
            (names{"bee", "delta"}));
  EXPECT_EQ(st().find_provider(s.org.id, "delta")->fallback, names{"bee"});

  // Renamed onto a name a list already holds: it appears once.
  auto d = *st().find_provider(s.org.id, "delta");
  d.name = "dee";
  add(make_provider(s.org.id, "gamma", {"dee", "delta"}));
  EXPECT_TRUE(st().update_provider(d, make_audit(s.org.id, "provider.update")));
  EXPECT_EQ(st().find_provider(s.org.id, "gamma")->fallback, names{"dee"});
}

} // namespace
} // namespace gatehouse::storage
