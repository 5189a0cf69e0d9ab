#include <algorithm>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/text.hpp"
#include "storage/database.hpp"
#include "storage/store.hpp"
#include "tests/storage/store_fixture.hpp"

namespace gatehouse::storage {
namespace {

using testing::signup;
using testing::t0;

class LogStoreTest : public testing::store_test {
protected:
  request_log_record make_log(const std::string& org_id, const std::string& id,
                              const std::string& created_at) {
    request_log_record l;
    l.id = id;
    l.org_id = org_id;
    l.request_id = "req-" + id;
    l.provider = "openai";
    l.model = "gpt-4o-mini";
    l.method = "POST";
    l.path = "/v1/chat/completions";
    l.status = 200;
    l.tokens_in = 10;
    l.tokens_out = 20;
    l.cost_micros = 30;
    l.latency_ms = 40;
    l.created_at = created_at;
    return l;
  }

  void write_logs(const std::vector<request_log_record>& logs) {
    st().write_batch(logs, {}, {});
  }

  /// The ids of every log matching `filter`, newest first, read in pages.
  std::vector<std::string> ids(const std::string& org_id,
                               const log_filter& filter = {}) {
    std::vector<std::string> out;
    std::optional<std::string> cursor;
    do {
      auto page = st().query_logs(org_id, filter, cursor, 100);
      for (const auto& l : page.logs)
        out.push_back(l.id);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  }

  usage_delta delta(const std::string& org_id, const std::string& type,
                    const std::string& id, const std::string& month,
                    std::int64_t n) {
    return {org_id, type, id, month, n, 10 * n, 20 * n, 30 * n};
  }

  using strings = std::vector<std::string>;
};

GH_INSTANTIATE_BACKEND_SUITE(LogStoreTest);

void expect_same_log(const request_log_record& got,
                     const request_log_record& want) {
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.org_id, want.org_id);
  EXPECT_EQ(got.request_id, want.request_id);
  EXPECT_EQ(got.key_id, want.key_id);
  EXPECT_EQ(got.key_prefix, want.key_prefix);
  EXPECT_EQ(got.app_id, want.app_id);
  EXPECT_EQ(got.team_id, want.team_id);
  EXPECT_EQ(got.user_id, want.user_id);
  EXPECT_EQ(got.provider, want.provider);
  EXPECT_EQ(got.model, want.model);
  EXPECT_EQ(got.method, want.method);
  EXPECT_EQ(got.path, want.path);
  EXPECT_EQ(got.status, want.status);
  EXPECT_EQ(got.error_code, want.error_code);
  EXPECT_EQ(got.tokens_in, want.tokens_in);
  EXPECT_EQ(got.tokens_out, want.tokens_out);
  EXPECT_EQ(got.cost_micros, want.cost_micros);
  EXPECT_EQ(got.usage_estimated, want.usage_estimated);
  EXPECT_EQ(got.unpriced, want.unpriced);
  EXPECT_EQ(got.latency_ms, want.latency_ms);
  EXPECT_EQ(got.ttft_ms, want.ttft_ms);
  EXPECT_EQ(got.stream, want.stream);
  EXPECT_EQ(got.session_id, want.session_id);
  EXPECT_EQ(got.end_user, want.end_user);
  EXPECT_EQ(got.metadata_json, want.metadata_json);
  EXPECT_EQ(got.env, want.env);
  EXPECT_EQ(got.request_body, want.request_body);
  EXPECT_EQ(got.response_body, want.response_body);
  EXPECT_EQ(got.created_at, want.created_at);
}

TEST_P(LogStoreTest, LogsRoundTripWithAndWithoutNulls) {
  auto s = new_org("acme");
  auto full = make_log(s.org.id, "log-full", "2026-11-23T13:16:20.042Z");
  full.key_id = s.key.id;
  full.key_prefix = "0123456789ab";
  full.app_id = "app-1";
  full.team_id = "team-1";
  full.user_id = s.user.id;
  full.model = "claude-3-5-sonnet";
  full.provider = "anthropic";
  full.path = "/v1/messages?beta=true";
  full.status = 502;
  full.error_code = "upstream_error";
  full.tokens_in = 9'000'000'000;
  full.tokens_out = 1;
  full.cost_micros = 123'456'789'012;
  full.usage_estimated = true;
  full.unpriced = true;
  full.latency_ms = 1234;
  full.ttft_ms = 56;
  full.stream = true;
  full.session_id = "session-1";
  full.end_user = "end-user-1";
  full.metadata_json = R"({"feature":"chat","n":1})";
  full.env = "prod";
  full.request_body = R"({"messages":[{"role":"user","content":"héllo 'x'"}]})";
  full.response_body = "data: {\"x\":1}\n\ndata: [DONE]\n\n";
  auto bare = make_log(s.org.id, "log-bare", "2026-11-23T13:16:20.041Z");
  bare.tokens_in = 0;
  bare.tokens_out = 0;
  bare.cost_micros = 0;
  write_logs({bare, full});

  auto page = st().query_logs(s.org.id, {}, std::nullopt, 10);
  ASSERT_EQ(page.logs.size(), 2u);
  EXPECT_FALSE(page.next_cursor);
  expect_same_log(page.logs[0], full);
  expect_same_log(page.logs[1], bare);
  EXPECT_EQ(page.logs[1].key_id, std::nullopt);
  EXPECT_EQ(page.logs[1].ttft_ms, std::nullopt);
  EXPECT_EQ(page.logs[1].request_body, std::nullopt);
}

TEST_P(LogStoreTest, BatchesAccumulateCountersAndKeyUse) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  auto k2 = make_key(s.org.id, s.user.id);
  k2.last_used_at = "2026-03-01T00:00:00.000Z";
  k2.request_count = 5;
  st().insert_key(k2, make_audit(s.org.id, "key.create"));
  const auto& k1 = s.key.id;
  const std::string month = "2026-02";

  st().write_batch({make_log(s.org.id, "l1", "2026-02-03T10:00:00.000Z"),
                    make_log(s.org.id, "l2", "2026-02-03T10:00:01.000Z")},
                   {delta(s.org.id, "key", k1, month, 1),
                    delta(s.org.id, "key", k1, month, 2),
                    delta(s.org.id, "app", "app-1", month, 3),
                    delta(s.org.id, "key", k1, "2026-01", 7),
                    delta(other.org.id, "key", k1, month, 100)},
                   {{k1, s.org.id, "2026-02-03T10:00:00.000Z", 1},
                    {k1, s.org.id, "2026-02-03T10:00:01.000Z", 1},
                    {k2.id, s.org.id, "2026-02-03T10:00:00.000Z", 4}});

  auto usage = st().load_month_usage(s.org.id, month);
  ASSERT_EQ(usage.size(), 2u);
  EXPECT_EQ(usage[0].scope_type, "app");
  EXPECT_EQ(usage[0].scope_id, "app-1");
  EXPECT_EQ(usage[0].requests, 3);
  EXPECT_EQ(usage[1].scope_type, "key");
  EXPECT_EQ(usage[1].scope_id, k1);
  EXPECT_EQ(usage[1].org_id, s.org.id);
  EXPECT_EQ(usage[1].month, month);
  EXPECT_EQ(usage[1].requests, 3);
  EXPECT_EQ(usage[1].tokens_in, 30);
  EXPECT_EQ(usage[1].tokens_out, 60);
  EXPECT_EQ(usage[1].cost_micros, 90);

  auto key1 = st().find_key(s.org.id, k1);
  EXPECT_EQ(key1->last_used_at, "2026-02-03T10:00:01.000Z");
  EXPECT_EQ(key1->request_count, 2);
  // An older use does not move last_used_at back.
  auto key2 = st().find_key(s.org.id, k2.id);
  EXPECT_EQ(key2->last_used_at, "2026-03-01T00:00:00.000Z");
  EXPECT_EQ(key2->request_count, 9);

  st().write_batch(
    {make_log(s.org.id, "l3", "2026-02-04T10:00:00.000Z")},
    {delta(s.org.id, "key", k1, month, 4),
     delta(s.org.id, "team", "team-1", month, 1)},
    {{k1, s.org.id, "2026-02-04T10:00:00.000Z", 1},
     {k2.id, s.org.id, "2026-03-02T00:00:00.000Z", 1},
     // A key of another organization is never touched through this one.
     {other.key.id, s.org.id, "2026-02-04T10:00:00.000Z", 50}});

  usage = st().load_month_usage(s.org.id, month);
  ASSERT_EQ(usage.size(), 3u);
  EXPECT_EQ(usage[1].scope_type, "key");
  EXPECT_EQ(usage[1].requests, 7);
  EXPECT_EQ(usage[1].tokens_in, 70);
  EXPECT_EQ(usage[1].cost_micros, 210);
  EXPECT_EQ(usage[2].scope_type, "team");
  EXPECT_EQ(usage[2].scope_id, "team-1");
  EXPECT_EQ(usage[2].requests, 1);
  EXPECT_EQ(st().find_key(s.org.id, k1)->request_count, 3);
  EXPECT_EQ(st().find_key(s.org.id, k1)->last_used_at,
            "2026-02-04T10:00:00.000Z");
  EXPECT_EQ(st().find_key(s.org.id, k2.id)->last_used_at,
            "2026-03-02T00:00:00.000Z");
  EXPECT_EQ(st().find_key(s.org.id, k2.id)->request_count, 10);
  EXPECT_EQ(st().find_key(other.org.id, other.key.id)->request_count, 0);
  EXPECT_EQ(st().find_key(other.org.id, other.key.id)->last_used_at,
            std::nullopt);

  auto january = st().load_month_usage(s.org.id, "2026-01");
  ASSERT_EQ(january.size(), 1u);
  EXPECT_EQ(january[0].requests, 7);
  auto theirs = st().load_month_usage(other.org.id, month);
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_EQ(theirs[0].requests, 100);
  EXPECT_TRUE(st().load_month_usage(s.org.id, "2026-03").empty());
  EXPECT_EQ(count("request_logs"), 3);
}

TEST_P(LogStoreTest, AFailedBatchWritesNothing) {
  auto s = new_org("acme");
  write_logs({make_log(s.org.id, "dup", "2026-02-03T10:00:00.000Z")});
  try {
    st().write_batch({make_log(s.org.id, "fresh", "2026-02-03T10:00:01.000Z"),
                      make_log(s.org.id, "dup", "2026-02-03T10:00:02.000Z")},
                     {delta(s.org.id, "key", s.key.id, "2026-02", 1)},
                     {{s.key.id, s.org.id, "2026-02-03T10:00:02.000Z", 1}});
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "request_logs.id");
  }
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(ids(s.org.id), strings{"dup"});
  EXPECT_TRUE(st().load_month_usage(s.org.id, "2026-02").empty());
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->request_count, 0);
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->last_used_at, std::nullopt);
  // An empty batch is fine.
  st().write_batch({}, {}, {});
}

TEST_P(LogStoreTest, TextsAreStoredAsCleanUtf8) {
  auto s = new_org("acme");
  // NUL, a stray continuation byte, an overlong form, a cut sequence.
  const std::string bad("\0\x80|\xc0\xaf|\xe2\x82", 8);
  auto dirty = [&](const std::string& text) { return text + bad; };
  auto l = make_log(s.org.id, dirty("log-1"), "2026-11-23T13:16:20.042Z");
  l.request_id = dirty("req");
  l.key_id = dirty("key");
  l.key_prefix = dirty("prefix");
  l.app_id = dirty("app");
  l.team_id = dirty("team");
  l.user_id = dirty("user");
  l.provider = dirty("openai");
  l.model = dirty("gpt");
  l.method = dirty("POST");
  l.path = dirty("/v1/chat");
  l.error_code = dirty("upstream_error");
  l.session_id = dirty("session");
  l.end_user = dirty("end-user");
  l.metadata_json = dirty(R"({"a":1})");
  l.env = dirty("prod");
  l.request_body = dirty("{\"messages\":[]}");
  l.response_body = dirty("data: x\n\n");
  write_logs({l});

  auto page = st().query_logs(s.org.id, {}, std::nullopt, 10);
  ASSERT_EQ(page.logs.size(), 1u);
  auto& got = page.logs[0];
  auto clean = [](const std::string& text) { return policy::clean_utf8(text); };
  auto opt_clean = [&](const std::optional<std::string>& text) {
    return std::optional<std::string>(clean(*text));
  };
  EXPECT_EQ(clean(bad), "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                        "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(got.id, clean(l.id));
  EXPECT_EQ(got.request_id, clean(l.request_id));
  EXPECT_EQ(got.key_id, opt_clean(l.key_id));
  EXPECT_EQ(got.key_prefix, opt_clean(l.key_prefix));
  EXPECT_EQ(got.app_id, opt_clean(l.app_id));
  EXPECT_EQ(got.team_id, opt_clean(l.team_id));
  EXPECT_EQ(got.user_id, opt_clean(l.user_id));
  EXPECT_EQ(got.provider, clean(l.provider));
  EXPECT_EQ(got.model, clean(l.model));
  EXPECT_EQ(got.method, clean(l.method));
  EXPECT_EQ(got.path, clean(l.path));
  EXPECT_EQ(got.error_code, opt_clean(l.error_code));
  EXPECT_EQ(got.session_id, opt_clean(l.session_id));
  EXPECT_EQ(got.end_user, opt_clean(l.end_user));
  EXPECT_EQ(got.metadata_json, opt_clean(l.metadata_json));
  EXPECT_EQ(got.env, opt_clean(l.env));
  EXPECT_EQ(got.request_body, opt_clean(l.request_body));
  EXPECT_EQ(got.response_body, opt_clean(l.response_body));
  for (const auto& text :
       {got.id, got.request_id, got.provider, got.model, got.method, got.path,
        *got.session_id, *got.end_user, *got.metadata_json, *got.request_body,
        *got.response_body}) {
    EXPECT_TRUE(policy::valid_utf8(text)) << text;
    EXPECT_EQ(text.find('\0'), std::string::npos);
  }
  // The cleaned values are what filters match.
  log_filter f;
  f.session_id = clean(*l.session_id);
  EXPECT_EQ(ids(s.org.id, f), strings{clean(l.id)});
}

TEST_P(LogStoreTest, ManyKeysInOneBatch) {
  auto s = new_org("acme");
  // 45 keys: statements of 32, 8, 4 and 1 keys.
  std::vector<std::string> keys;
  std::vector<key_use> uses;
  for (int i = 0; i < 45; ++i) {
    auto k = make_key(s.org.id, s.user.id);
    k.last_used_at = "2026-02-03T12:00:00.000Z";
    st().insert_key(k, make_audit(s.org.id, "key.create"));
    keys.push_back(k.id);
    uses.push_back({k.id, s.org.id, "2026-02-03T11:00:00.000Z", 1});
    // Every third key's second use is its latest.
    uses.push_back({k.id, s.org.id,
                    i % 3 == 0 ? "2026-02-03T13:00:00.000Z"
                               : "2026-02-03T10:00:00.000Z",
                    i});
  }
  st().write_batch({}, {}, uses);
  for (int i = 0; i < 45; ++i) {
    auto k = st().find_key(s.org.id, keys[static_cast<std::size_t>(i)]);
    ASSERT_TRUE(k) << i;
    EXPECT_EQ(k->request_count, 1 + i) << i;
    EXPECT_EQ(k->last_used_at, i % 3 == 0 ? "2026-02-03T13:00:00.000Z"
                                          : "2026-02-03T12:00:00.000Z")
      << i;
  }
}

TEST_P(LogStoreTest, CleanTextIsStoredAsItIsAndANulAnywhereIsReplaced) {
  auto s = new_org("acme");
  auto l = make_log(s.org.id, "log-1", "2026-11-23T13:16:20.042Z");
  // Valid UTF-8 beyond ASCII stays byte for byte.
  l.request_body = "{\"q\":\"caf\xc3\xa9 \xf0\x9f\x98\x80 long enough\"}";
  // A NUL inside an eight-byte word of plain ASCII, and at the very end.
  l.response_body = std::string("{\"a\":\"0123456\0" "89abcdef\"}", 24);
  l.end_user = std::string("user\0", 5);
  write_logs({l});
  auto got = st().query_logs(s.org.id, {}, std::nullopt, 10).logs.at(0);
  EXPECT_EQ(got.request_body, l.request_body);
  EXPECT_EQ(got.response_body,
            "{\"a\":\"0123456\xef\xbf\xbd" "89abcdef\"}");
  EXPECT_EQ(got.end_user, "user\xef\xbf\xbd");
}

/// The entries of write_entries: one log each, counting one request of the
/// org's key.
std::vector<log_write>
entries_for(const signup& s, const std::vector<request_log_record>& logs) {
  std::vector<log_write> out;
  for (const auto& l : logs) {
    log_write e;
    e.log = l;
    e.deltas.push_back({s.org.id, "key", s.key.id, "2026-02", 1, 1, 2, 3});
    e.key = key_use{s.key.id, s.org.id, l.created_at, 1};
    out.push_back(std::move(e));
  }
  return out;
}

TEST_P(LogStoreTest, RefusedEntriesAreIsolatedAndTheRestCommits) {
  auto s = new_org("acme");
  write_logs({make_log(s.org.id, "dup", "2026-02-03T09:00:00.000Z")});
  std::vector<request_log_record> logs;
  for (int i = 0; i < 10; ++i)
    logs.push_back(
      make_log(s.org.id, "l" + std::to_string(i),
               "2026-02-03T10:00:0" + std::to_string(i) + ".000Z"));
  logs[3].id = "dup"; // a unique violation
  auto entries = entries_for(s, logs);
  entries[7].deltas[0].scope_type = "bogus"; // a CHECK violation

  std::vector<bool> settled;
  std::vector<std::string> refused;
  st().write_entries(entries, settled,
                     [&](const log_write& e, const data_error&) {
                       refused.push_back(e.log.id);
                     });
  EXPECT_EQ(refused, (strings{"dup", "l7"}));
  EXPECT_EQ(settled, std::vector<bool>(10, true));
  EXPECT_FALSE(db().in_transaction());
  auto got = ids(s.org.id);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got,
            (strings{"dup", "l0", "l1", "l2", "l4", "l5", "l6", "l8", "l9"}));
  // The refused entries' counters and key uses went with them.
  auto usage = st().load_month_usage(s.org.id, "2026-02");
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].requests, 8);
  EXPECT_EQ(usage[0].cost_micros, 24);
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->request_count, 8);
}

/// A connection that fails at its n-th BEGIN as if the server went away.
class failing_database final : public database {
public:
  failing_database(database& inner, int fail_at)
    : inner_(inner), fail_at_(fail_at) {}

  using database::exec;

  rows exec(std::string_view sql, const params& args) override {
    return inner_.exec(sql, args);
  }
  void insert_rows(std::string_view table,
                   const std::vector<std::string>& columns,
                   const params& values) override {
    inner_.insert_rows(table, columns, values);
  }
  void run_script(std::string_view sql) override {
    inner_.run_script(sql);
  }
  void begin() override {
    if (++begins_ == fail_at_)
      throw connection_error("connection lost");
    inner_.begin();
  }
  void commit() override {
    inner_.commit();
  }
  void rollback() override {
    inner_.rollback();
  }
  bool in_transaction() const noexcept override {
    return inner_.in_transaction();
  }
  bool is_open() const noexcept override {
    return inner_.is_open();
  }
  std::string_view dialect() const noexcept override {
    return inner_.dialect();
  }

private:
  database& inner_;
  int fail_at_;
  int begins_ = 0;
};

TEST_P(LogStoreTest, OtherFailuresKeepTheEntriesNotWritten) {
  auto s = new_org("acme");
  write_logs({make_log(s.org.id, "dup", "2026-02-03T09:00:00.000Z")});
  std::vector<request_log_record> logs;
  for (int i = 0; i < 10; ++i)
    logs.push_back(
      make_log(s.org.id, "l" + std::to_string(i),
               "2026-02-03T10:00:0" + std::to_string(i) + ".000Z"));
  logs[0].id = "dup";
  auto entries = entries_for(s, logs);

  // Transactions: [0,10) refused, [0,5) refused, [0,2) refused, [0,1)
  // refused alone, [1,2) committed; the sixth BEGIN loses the connection.
  failing_database flaky(db(), 6);
  store st_flaky(flaky);
  std::vector<bool> settled;
  std::vector<std::string> refused;
  auto note = [&](const log_write& e, const data_error&) {
    refused.push_back(e.log.id);
  };
  EXPECT_THROW(st_flaky.write_entries(entries, settled, note),
               connection_error);
  EXPECT_EQ(refused, strings{"dup"});
  std::vector<bool> want(10, false);
  want[0] = want[1] = true;
  EXPECT_EQ(settled, want);
  auto got = ids(s.org.id);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (strings{"dup", "l1"}));

  // Later the rest goes through; nothing was lost or counted twice.
  std::vector<log_write> rest;
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (!settled[i])
      rest.push_back(entries[i]);
  st().write_entries(rest, settled, note);
  EXPECT_EQ(settled, std::vector<bool>(8, true));
  EXPECT_EQ(refused, strings{"dup"});
  EXPECT_EQ(ids(s.org.id).size(), 10u);
  auto usage = st().load_month_usage(s.org.id, "2026-02");
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].requests, 9);
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->request_count, 9);
}

TEST_P(LogStoreTest, LargeBatches) {
  auto s = new_org("acme");
  // 2023 = 63 * 32 + 7: every statement size is used.
  const int n = 2023;
  std::vector<request_log_record> logs;
  std::vector<usage_delta> deltas;
  for (int i = 0; i < n; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "log-%05d", i);
    logs.push_back(make_log(s.org.id, id, "2026-02-03T10:00:00.000Z"));
    deltas.push_back(
      delta(s.org.id, "key", "key-" + std::to_string(i % 300), "2026-02", 1));
  }
  st().write_batch(logs, deltas, {{s.key.id, s.org.id, t0, n}});
  EXPECT_EQ(count("request_logs"), n);
  auto usage = st().load_month_usage(s.org.id, "2026-02");
  ASSERT_EQ(usage.size(), 300u);
  std::int64_t total = 0;
  for (const auto& u : usage)
    total += u.requests;
  EXPECT_EQ(total, n);
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->request_count, n);
  auto got = ids(s.org.id);
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(got.front(), "log-02022");
  EXPECT_EQ(got.back(), "log-00000");
}

TEST_P(LogStoreTest, EachFilterNarrowsTheLogs) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  auto a = make_log(s.org.id, "a", "2026-02-01T00:00:00.000Z");
  a.app_id = "app-1";
  a.team_id = "team-1";
  a.key_id = "key-1";
  a.session_id = "session-1";
  auto b = make_log(s.org.id, "b", "2026-02-01T12:00:00.500Z");
  b.app_id = "app-2";
  b.key_id = "key-1";
  b.provider = "anthropic";
  b.model = "claude-3-haiku";
  b.status = 429;
  auto c = make_log(s.org.id, "c", "2026-02-02T00:00:00.000Z");
  c.team_id = "team-1";
  c.key_id = "key-2";
  c.session_id = "session-1";
  c.status = 502;
  auto d = make_log(s.org.id, "d", "2026-02-03T08:30:00.999Z");
  d.app_id = "app-1";
  d.model = "claude-3-haiku";
  auto theirs = make_log(other.org.id, "x", "2026-02-02T00:00:00.000Z");
  theirs.app_id = "app-1";
  write_logs({a, b, c, d, theirs});

  EXPECT_EQ(ids(s.org.id), (strings{"d", "c", "b", "a"}));
  EXPECT_EQ(ids(other.org.id), strings{"x"});
  log_filter f;
  f.app_id = "app-1";
  EXPECT_EQ(ids(s.org.id, f), (strings{"d", "a"}));
  f = {};
  f.team_id = "team-1";
  EXPECT_EQ(ids(s.org.id, f), (strings{"c", "a"}));
  f = {};
  f.key_id = "key-1";
  EXPECT_EQ(ids(s.org.id, f), (strings{"b", "a"}));
  f = {};
  f.provider = "anthropic";
  EXPECT_EQ(ids(s.org.id, f), strings{"b"});
  f = {};
  f.model = "claude-3-haiku";
  EXPECT_EQ(ids(s.org.id, f), (strings{"d", "b"}));
  f = {};
  f.session_id = "session-1";
  EXPECT_EQ(ids(s.org.id, f), (strings{"c", "a"}));
  f = {};
  f.status = 502;
  EXPECT_EQ(ids(s.org.id, f), strings{"c"});
  f.status = 200;
  EXPECT_EQ(ids(s.org.id, f), (strings{"d", "a"}));

  // from is inclusive, to exclusive, in any precision of seconds.
  f = {};
  f.from = "2026-02-01T12:00:00.500Z";
  EXPECT_EQ(ids(s.org.id, f), (strings{"d", "c", "b"}));
  f.from = "2026-02-01T12:00:00.5001Z";
  EXPECT_EQ(ids(s.org.id, f), (strings{"d", "c", "b"}));
  f.from = "2026-02-01T12:00:01Z";
  EXPECT_EQ(ids(s.org.id, f), (strings{"d", "c"}));
  f = {};
  f.to = "2026-02-02T00:00:00Z";
  EXPECT_EQ(ids(s.org.id, f), (strings{"b", "a"}));
  f.to = "2026-02-02T00:00:00.001Z";
  EXPECT_EQ(ids(s.org.id, f), (strings{"c", "b", "a"}));
  f.to = "2026-02-01T12:00:00.5Z";
  EXPECT_EQ(ids(s.org.id, f), strings{"a"});
  f = {};
  f.from = "2026-02-01T00:00:00Z";
  f.to = "2026-02-01T00:00:00Z";
  EXPECT_TRUE(ids(s.org.id, f).empty());
  // A date alone stands for its midnight.
  f = {};
  f.from = "2026-02-02";
  f.to = "2026-02-03";
  EXPECT_EQ(ids(s.org.id, f), strings{"c"});

  // Filters combine.
  f = {};
  f.app_id = "app-1";
  f.model = "gpt-4o-mini";
  f.from = "2026-02-01T00:00:00Z";
  EXPECT_EQ(ids(s.org.id, f), strings{"a"});
  f.team_id = "team-2";
  EXPECT_TRUE(ids(s.org.id, f).empty());
}

TEST_P(LogStoreTest, PagesBreakTiesById) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  const std::string same = "2026-02-01T10:00:00.000Z";
  std::vector<request_log_record> logs;
  strings expected;
  // Written out of order; all in one millisecond but the last two.
  for (int i : {7,  3, 18, 0, 12, 5, 21, 9, 14, 1,  16,
                10, 4, 19, 2, 13, 8, 20, 6, 15, 11, 17}) {
    char id[16];
    std::snprintf(id, sizeof id, "log-%02d", i);
    logs.push_back(make_log(s.org.id, id, same));
  }
  logs.push_back(make_log(s.org.id, "log-zz-old", "2026-02-01T09:59:59.999Z"));
  logs.push_back(make_log(s.org.id, "log-aa-new", "2026-02-01T10:00:00.001Z"));
  logs.push_back(make_log(other.org.id, "log-99", same));
  write_logs(logs);
  expected.push_back("log-aa-new");
  for (int i = 21; i >= 0; --i) {
    char id[16];
    std::snprintf(id, sizeof id, "log-%02d", i);
    expected.push_back(id);
  }
  expected.push_back("log-zz-old");

  strings seen;
  std::optional<std::string> cursor;
  std::vector<std::size_t> sizes;
  for (int page_no = 0; page_no < 10; ++page_no) {
    auto page = st().query_logs(s.org.id, {}, cursor, 10);
    sizes.push_back(page.logs.size());
    for (const auto& l : page.logs)
      seen.push_back(l.id);
    cursor = page.next_cursor;
    if (!cursor)
      break;
    EXPECT_EQ(cursor->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"
                                        "klmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
      << *cursor;
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{10, 10, 4}));
  EXPECT_EQ(seen, expected);

  // A last page that is exactly full has no cursor.
  auto first = st().query_logs(s.org.id, {}, std::nullopt, 12);
  ASSERT_TRUE(first.next_cursor);
  auto second = st().query_logs(s.org.id, {}, first.next_cursor, 12);
  EXPECT_EQ(second.logs.size(), 12u);
  EXPECT_FALSE(second.next_cursor);

  // Filters hold across pages.
  log_filter f;
  f.from = same;
  f.to = "2026-02-01T10:00:00.001Z";
  seen.clear();
  cursor.reset();
  sizes.clear();
  do {
    auto page = st().query_logs(s.org.id, f, cursor, 8);
    sizes.push_back(page.logs.size());
    for (const auto& l : page.logs)
      seen.push_back(l.id);
    cursor = page.next_cursor;
  } while (cursor && sizes.size() < 10);
  EXPECT_EQ(sizes, (std::vector<std::size_t>{8, 8, 6}));
  EXPECT_EQ(seen, strings(expected.begin() + 1, expected.end() - 1));

  // Limits are brought into range.
  EXPECT_EQ(st().query_logs(s.org.id, {}, std::nullopt, 0).logs.size(), 1u);
  EXPECT_EQ(st().query_logs(s.org.id, {}, std::nullopt, -5).logs.size(), 1u);
  EXPECT_EQ(st().query_logs(s.org.id, {}, std::nullopt, 1'000'000).logs.size(),
            24u);
}

TEST_P(LogStoreTest, ForeignCursorsAreRefused) {
  auto s = new_org("acme");
  std::vector<request_log_record> logs;
  for (int i = 0; i < 3; ++i)
    logs.push_back(make_log(s.org.id, "log-" + std::to_string(i),
                            "2026-02-01T10:00:00.000Z"));
  write_logs(logs);
  auto good = st().query_logs(s.org.id, {}, std::nullopt, 1).next_cursor;
  ASSERT_TRUE(good);
  EXPECT_EQ(st().query_logs(s.org.id, {}, good, 5).logs.size(), 2u);

  for (std::string bad : {
         std::string(""),
         std::string("!!!"),
         std::string("a"),                                  // impossible length
         std::string("bm9iYXI"),                            // "nobar"
         std::string("fDIwMjYtMDItMDF8eA"),                 // "|2026-02-01|x"
         std::string("MjAyNi0wMi0wMVQxMDowMDowMC4wMDBafA"), // no id
         std::string("eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4fGlk"), // not a time
         std::string("MjAyNi0wMi0wMVQxMDowMDowMC4wMDBafP9p"), // a raw byte
         *good + "=",
         *good + " ",
         std::string("YWJj+/"),
       }) {
    EXPECT_THROW(st().query_logs(s.org.id, {}, bad, 5), bad_cursor) << bad;
  }
  // It is a storage_error, and the connection stays usable.
  EXPECT_THROW(st().query_logs(s.org.id, {}, std::string("%%"), 5),
               storage_error);
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(st().query_logs(s.org.id, {}, good, 5).logs.size(), 2u);
}

TEST_P(LogStoreTest, UsageReportGroupsWithinBounds) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  auto log = [&](const std::string& id, const std::string& at) {
    return make_log(s.org.id, id, at);
  };
  // Before the range.
  auto early = log("early", "2026-01-31T23:59:59.999Z");
  early.app_id = "app-1";
  // In the range.
  auto a = log("a", "2026-02-01T00:00:00.000Z");
  a.app_id = "app-1";
  a.team_id = "team-1";
  a.key_id = "key-1";
  auto b = log("b", "2026-02-01T23:59:59.999Z");
  b.app_id = "app-2";
  b.key_id = "key-1";
  b.model = "mystery-model";
  b.unpriced = true;
  b.cost_micros = 0;
  auto c = log("c", "2026-02-02T10:00:00.000Z");
  c.app_id = "app-1";
  c.team_id = "team-1";
  c.key_id = "key-2";
  c.provider = "anthropic";
  c.model = "claude-3-haiku";
  c.tokens_in = 100;
  c.tokens_out = 200;
  c.cost_micros = 300;
  auto d = log("d", "2026-02-02T11:00:00.000Z");
  d.provider = "anthropic";
  d.model = "mystery-model";
  d.unpriced = true;
  d.cost_micros = 0;
  // The end bound is exclusive.
  auto late = log("late", "2026-02-03T00:00:00.000Z");
  late.app_id = "app-1";
  auto theirs = make_log(other.org.id, "theirs", "2026-02-01T10:00:00.000Z");
  theirs.app_id = "app-1";
  write_logs({early, a, b, c, d, late, theirs});

  const std::string from = "2026-02-01T00:00:00Z";
  const std::string to = "2026-02-03T00:00:00Z";
  auto report = [&](const std::string& by) {
    return st().usage_report(s.org.id, by, from, to);
  };
  auto groups = [](const std::vector<usage_row>& rows) {
    strings out;
    for (const auto& r : rows)
      out.push_back(r.group);
    return out;
  };

  auto days = report("day");
  ASSERT_EQ(groups(days), (strings{"2026-02-01", "2026-02-02"}));
  EXPECT_EQ(days[0].requests, 2);
  EXPECT_EQ(days[0].tokens_in, 20);
  EXPECT_EQ(days[0].tokens_out, 40);
  EXPECT_EQ(days[0].cost_micros, 30);
  EXPECT_EQ(days[0].unpriced_requests, 1);
  EXPECT_EQ(days[1].requests, 2);
  EXPECT_EQ(days[1].tokens_in, 110);
  EXPECT_EQ(days[1].tokens_out, 220);
  EXPECT_EQ(days[1].cost_micros, 300);
  EXPECT_EQ(days[1].unpriced_requests, 1);

  auto apps = report("app");
  ASSERT_EQ(groups(apps), (strings{"", "app-1", "app-2"}));
  EXPECT_EQ(apps[0].requests, 1); // d has no app
  EXPECT_EQ(apps[1].requests, 2);
  EXPECT_EQ(apps[1].cost_micros, 330);
  EXPECT_EQ(apps[2].requests, 1);
  EXPECT_EQ(apps[2].unpriced_requests, 1);

  auto teams = report("team");
  ASSERT_EQ(groups(teams), (strings{"", "team-1"}));
  EXPECT_EQ(teams[0].requests, 2);
  EXPECT_EQ(teams[1].requests, 2);
  EXPECT_EQ(teams[1].tokens_in, 110);

  auto keys = report("key");
  ASSERT_EQ(groups(keys), (strings{"", "key-1", "key-2"}));
  EXPECT_EQ(keys[0].requests, 1);
  EXPECT_EQ(keys[1].requests, 2);
  EXPECT_EQ(keys[2].requests, 1);

  auto models = report("model");
  ASSERT_EQ(groups(models),
            (strings{"claude-3-haiku", "gpt-4o-mini", "mystery-model"}));
  EXPECT_EQ(models[2].requests, 2);
  EXPECT_EQ(models[2].unpriced_requests, 2);
  EXPECT_EQ(models[2].cost_micros, 0);

  auto providers = report("provider");
  ASSERT_EQ(groups(providers), (strings{"anthropic", "openai"}));
  EXPECT_EQ(providers[0].requests, 2);
  EXPECT_EQ(providers[1].requests, 2);

  // Narrower, open and empty ranges.
  auto one_day = st().usage_report(s.org.id, "app", "2026-02-02", "2026-02-03");
  ASSERT_EQ(groups(one_day), (strings{"", "app-1"}));
  EXPECT_EQ(one_day[1].requests, 1);
  auto everything = st().usage_report(s.org.id, "app", "", "");
  ASSERT_EQ(groups(everything), (strings{"", "app-1", "app-2"}));
  EXPECT_EQ(everything[1].requests, 4);
  EXPECT_EQ(st().usage_report(s.org.id, "day", "", from).size(), 1u);
  EXPECT_TRUE(st().usage_report(s.org.id, "day", to, from).empty());
  EXPECT_TRUE(st().usage_report("nope", "day", "", "").empty());

  for (std::string bad : {"", "Day", "month", "app_id", "created_at",
                          "model; DROP TABLE request_logs"})
    EXPECT_THROW(st().usage_report(s.org.id, bad, from, to),
                 std::invalid_argument)
      << bad;
  EXPECT_EQ(count("request_logs"), 7);
}

TEST_P(LogStoreTest, DeleteLogsBeforeACutoff) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  write_logs({make_log(s.org.id, "old-1", "2026-01-01T00:00:00.000Z"),
              make_log(s.org.id, "old-2", "2026-01-31T23:59:59.999Z"),
              make_log(s.org.id, "edge", "2026-02-01T00:00:00.000Z"),
              make_log(s.org.id, "new", "2026-02-15T00:00:00.000Z"),
              make_log(other.org.id, "theirs", "2026-01-01T00:00:00.000Z")});
  EXPECT_EQ(st().delete_logs_before(s.org.id, "2026-02-01T00:00:00Z"), 2);
  EXPECT_EQ(ids(s.org.id), (strings{"new", "edge"}));
  EXPECT_EQ(ids(other.org.id), strings{"theirs"});
  EXPECT_EQ(st().delete_logs_before(s.org.id, "2026-02-01T00:00:00Z"), 0);
  EXPECT_EQ(st().delete_logs_before("nope", "2027-01-01T00:00:00Z"), 0);

  // More rows than one round of deletion takes.
  const int n = 5003;
  std::vector<request_log_record> logs;
  for (int i = 0; i < n; ++i)
    logs.push_back(make_log(s.org.id, "bulk-" + std::to_string(i),
                            "2026-01-10T00:00:00.000Z"));
  write_logs(logs);
  EXPECT_EQ(st().delete_logs_before(s.org.id, "2026-02-01T00:00:00.001Z"),
            n + 1);
  EXPECT_EQ(ids(s.org.id), strings{"new"});
  EXPECT_EQ(count("request_logs"), 2);
}

TEST_P(LogStoreTest, PriceOverridesAreReplacedWhole) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  EXPECT_TRUE(st().list_price_overrides(s.org.id).empty());
  st().replace_price_overrides(
    s.org.id,
    {{"gpt-4o-mini", 150'000, 600'000}, {"claude-3-haiku", 250'000, 1'250'000}},
    make_audit(s.org.id, "pricing.update"));
  st().replace_price_overrides(other.org.id, {{"gpt-4o-mini", 1, 2}},
                               make_audit(other.org.id, "pricing.update"));
  auto prices = st().list_price_overrides(s.org.id);
  ASSERT_EQ(prices.size(), 2u);
  EXPECT_EQ(prices[0].model, "claude-3-haiku");
  EXPECT_EQ(prices[0].input_micros_per_mtok, 250'000);
  EXPECT_EQ(prices[0].output_micros_per_mtok, 1'250'000);
  EXPECT_EQ(prices[1].model, "gpt-4o-mini");
  EXPECT_EQ(prices[1].input_micros_per_mtok, 150'000);
  EXPECT_EQ(prices[1].output_micros_per_mtok, 600'000);

  st().replace_price_overrides(s.org.id, {{"gpt-4o-mini", 0, 0}},
                               make_audit(s.org.id, "pricing.update"));
  prices = st().list_price_overrides(s.org.id);
  ASSERT_EQ(prices.size(), 1u);
  EXPECT_EQ(prices[0].model, "gpt-4o-mini");
  EXPECT_EQ(prices[0].input_micros_per_mtok, 0);

  // A model given twice changes nothing.
  const auto audits = count("audit_log");
  try {
    st().replace_price_overrides(s.org.id, {{"m", 1, 1}, {"m", 2, 2}},
                                 make_audit(s.org.id, "pricing.update"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "pricing.model");
  }
  EXPECT_EQ(count("audit_log"), audits);
  EXPECT_EQ(st().list_price_overrides(s.org.id).size(), 1u);
  EXPECT_FALSE(db().in_transaction());

  st().replace_price_overrides(s.org.id, {},
                               make_audit(s.org.id, "pricing.update"));
  EXPECT_TRUE(st().list_price_overrides(s.org.id).empty());
  ASSERT_EQ(st().list_price_overrides(other.org.id).size(), 1u);
  EXPECT_EQ(st().list_price_overrides(other.org.id)[0].output_micros_per_mtok,
            2);
  EXPECT_EQ(count("audit_log"), audits + 1);
}

} // namespace
} // namespace gatehouse::storage
