#define CAF_SUITE data_plane

#include <cstdlib>
#include <filesystem>

#include <caf/test/dsl.hpp>

#include "actors/directory.hpp"
#include "test_support.hpp"
#include "actors/org_actor.hpp"
#include "actors/storage_worker.hpp"
#include "actors/storage_writer.hpp"
#include "actors/stream_actor.hpp"
#include "policy/api_key.hpp"
#include "policy/crypto.hpp"
#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

constexpr int64_t t0 = 1'800'000'000;

std::string chunk(const std::string& content) {
  return "data: {\"choices\":[{\"delta\":{\"content\":\"" + content
         + "\"}}]}\n\n";
}

const std::string usage_chunk =
  "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":11,"
  "\"completion_tokens\":7}}\n\n";

struct stream_fixture : test_coordinator_fixture<> {
  std::optional<stream_summary> summary;

  /// Parses `bytes` as the relay does and hands the events over.
  void feed(const stream_actor& s, const std::string& bytes) {
    std::vector<policy::sse_event> events;
    parser.feed(bytes, events);
    caf::anon_send(s, chunk_atom_v, std::move(events));
    sched.run();
  }

  /// Ends the stream; `last` (the bytes of the last read) rides along.
  void end(const stream_actor& s, const std::string& last = "") {
    std::vector<policy::sse_event> events;
    parser.feed(last, events);
    parser.finish(events);
    caf::anon_send(s, end_atom_v, std::move(events),
                   end_reply{[this](stream_summary sum) {
                     summary = std::move(sum);
                   }});
    sched.run();
  }

  policy::sse_parser parser;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(stream_actor_tests, stream_fixture)

CAF_TEST(usage of events split across reads is counted once) {
  auto s = sys.spawn(stream_actor_impl);
  auto input = chunk("Hel") + ": ping\n\n" + chunk("lo") + usage_chunk
               + "data: [DONE]\n\n";
  // Cut in the middle of the second event and of the usage chunk.
  auto cut1 = chunk("Hel").size() + 4;
  auto cut2 = input.size() - 25;
  feed(s, input.substr(0, cut1));
  feed(s, input.substr(cut1, cut2 - cut1));
  feed(s, input.substr(cut2));
  end(s);
  CAF_REQUIRE(summary.has_value());
  CAF_CHECK(summary->usage_present);
  CAF_CHECK_EQUAL(summary->input_tokens, 11);
  CAF_CHECK_EQUAL(summary->output_tokens, 7);
  CAF_CHECK_EQUAL(summary->text_chars, 5);
}

CAF_TEST(a stream without usage reports the text it carried) {
  auto s = sys.spawn(stream_actor_impl);
  feed(s, chunk("abcd") + chunk("efgh"));
  end(s);
  CAF_CHECK(!summary->usage_present);
  CAF_CHECK_EQUAL(summary->text_chars, 8);
}

CAF_TEST(an actor starts afresh for the next stream) {
  auto s = sys.spawn(stream_actor_impl);
  feed(s, chunk("first stream") + usage_chunk);
  end(s);
  CAF_REQUIRE(summary.has_value());
  CAF_CHECK(summary->usage_present);
  summary.reset();
  end(s, chunk("abc"));
  CAF_REQUIRE(summary.has_value());
  CAF_CHECK(!summary->usage_present);
  CAF_CHECK_EQUAL(summary->input_tokens, 0);
  CAF_CHECK_EQUAL(summary->text_chars, 3);
  // An abandoned stream resets it without a summary.
  caf::anon_send(s, chunk_atom_v, std::vector<policy::sse_event>{});
  caf::anon_send(s, end_atom_v, std::vector<policy::sse_event>{}, end_reply{});
  sched.run();
  summary.reset();
  end(s);
  CAF_CHECK_EQUAL(summary->text_chars, 0);
}

CAF_TEST(a stream that arrives in one read is counted from its end message) {
  auto s = sys.spawn<caf::lazy_init>(stream_actor_impl);
  end(s, chunk("Hi") + usage_chunk + "data: [DONE]\n\n");
  CAF_REQUIRE(summary.has_value());
  CAF_CHECK(summary->usage_present);
  CAF_CHECK_EQUAL(summary->input_tokens, 11);
  CAF_CHECK_EQUAL(summary->output_tokens, 7);
  // With usage in the same batch, the text is not counted (not needed).
  CAF_CHECK_EQUAL(summary->text_chars, 0);
}

CAF_TEST_FIXTURE_SCOPE_END()

namespace {

struct org_fixture : test_coordinator_fixture<>, testing::scratch_db {
  std::string raw = policy::generate_api_key();
  std::string scoped_raw = policy::generate_api_key();
  storage::org_record org;
  caf::actor db;
  storage_writer_actor writer;
  org_actor hdl;

  org_fixture() {
    auto lease = pool.acquire();
    storage::store st{*lease};
    org = testing::seed_org(st, "enterprise", raw, t0);
    st.insert_key(key(scoped_raw, {"provider:anthropic"}), audit("key.create"));
    snapshot_providers = {provider("openai", "https://api.openai.com",
                                   "sk-openai-secret"),
                          provider("anthropic", "http://10.1.2.3:8080/base",
                                   "sk-ant-secret")};
    snapshot_providers[0].is_default = true;
    snapshot_providers[1].auth_header = "x-api-key";
    snapshot_providers[1].auth_scheme = "";
    db = sys.spawn(storage_worker, &pool);
    writer = sys.spawn(storage_writer_impl, db, nullptr, nullptr);
    org_snapshot snap{org, st.load_org_keys(org.id), snapshot_providers,
                      {storage::price_override{"gpt-4o-mini", 1'000'000,
                                               2'000'000}}};
    hdl = sys.spawn(org_actor_impl, snap,
                    org_links{std::make_shared<directory>(), db, writer,
                              secrets});
    sched.run();
  }

  ~org_fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(hdl),
                   caf::actor_cast<caf::actor>(writer), db})
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  storage::api_key_record key(const std::string& r,
                              std::vector<std::string> scopes) {
    storage::api_key_record k;
    k.id = policy::uuid_v4();
    k.org_id = org.id;
    k.user_id = "u1";
    k.name = "k";
    k.key_hash = policy::key_hash(r);
    k.key_prefix = policy::key_prefix(r);
    k.scopes = std::move(scopes);
    k.created_at = policy::rfc3339(t0);
    return k;
  }

  storage::audit_record audit(const char* action) {
    storage::audit_record a;
    a.id = policy::uuid_v4();
    a.org_id = org.id;
    a.action = action;
    a.created_at = policy::rfc3339(t0);
    return a;
  }

  storage::provider_record provider(const std::string& name,
                                    const std::string& url,
                                    const std::string& secret) {
    storage::provider_record p;
    p.id = policy::uuid_v4();
    p.org_id = org.id;
    p.name = name;
    p.base_url = url;
    p.api_key_encrypted =
      storage::seal_secret(*secrets, secret, provider_key_aad(p.id));
    p.created_at = p.updated_at = policy::rfc3339(t0);
    return p;
  }

  authorization authorize_req(const std::string& r, proxy_request req) {
    req.key_hash = policy::key_hash(r);
    req.now_s = t0;
    auto rh = self->request(hdl, caf::infinite, authorize_atom_v, req);
    sched.run();
    authorization out;
    rh.receive([&](authorization& a) { out = std::move(a); },
               [&](caf::error& e) { CAF_FAIL("authorize failed: " << e); });
    return out;
  }

  std::vector<storage::provider_record> snapshot_providers;
};

proxy_request chat(std::string model, bool stream = false) {
  proxy_request r;
  r.path = "/v1/chat/completions";
  r.model = std::move(model);
  r.stream = stream;
  return r;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(org_authorize_tests, org_fixture)

CAF_TEST(a grant carries the decrypted key and the chosen provider) {
  auto a = authorize_req(raw, chat("gpt-4o-mini"));
  CAF_REQUIRE(a.ok);
  CAF_REQUIRE_EQUAL(a.permit.targets.size(), 1u);
  auto& t = a.permit.targets[0];
  CAF_CHECK_EQUAL(t.provider, "openai");
  CAF_CHECK_EQUAL(t.scheme, "https");
  CAF_CHECK_EQUAL(t.host, "api.openai.com");
  CAF_CHECK_EQUAL(t.port, 443);
  CAF_CHECK_EQUAL(t.auth_header, "Authorization");
  CAF_CHECK_EQUAL(t.auth_value, "Bearer sk-openai-secret");
  CAF_CHECK(!a.permit.inject_usage);
}

CAF_TEST(provider model names pick the provider and rewrite the model) {
  auto a = authorize_req(raw, chat("anthropic/claude-3-5-haiku"));
  CAF_REQUIRE(a.ok);
  auto& t = a.permit.targets[0];
  CAF_CHECK_EQUAL(t.provider, "anthropic");
  CAF_CHECK_EQUAL(t.base_path, "/base");
  CAF_CHECK_EQUAL(t.auth_header, "x-api-key");
  CAF_CHECK_EQUAL(t.auth_value, "sk-ant-secret");
  CAF_CHECK_EQUAL(a.permit.model, "claude-3-5-haiku");
  CAF_CHECK(a.permit.rewrite_model);
}

CAF_TEST(streams without client usage get usage injected) {
  auto a = authorize_req(raw, chat("gpt-4o-mini", true));
  CAF_REQUIRE(a.ok);
  CAF_CHECK(a.permit.inject_usage);
  auto req = chat("gpt-4o-mini", true);
  req.client_wants_usage = true;
  CAF_CHECK(!authorize_req(raw, req).permit.inject_usage);
}

CAF_TEST(scopes deny other providers) {
  auto a = authorize_req(scoped_raw, chat("gpt-4o-mini"));
  CAF_REQUIRE(!a.ok);
  CAF_CHECK(a.denial.code == policy::errc::scope_denied);
  CAF_CHECK_EQUAL(a.denial.message, "key may not use provider 'openai'");
  CAF_CHECK(authorize_req(scoped_raw, chat("claude-3-5-haiku")).ok);
}

CAF_TEST(unknown keys and unknown providers are refused) {
  auto a = authorize_req(policy::generate_api_key(), chat("gpt-4o"));
  CAF_CHECK(!a.ok && a.denial.code == policy::errc::unauthorized);
  auto req = chat("gpt-4o");
  req.provider_header = "mistral";
  auto b = authorize_req(raw, req);
  CAF_CHECK(!b.ok && b.denial.code == policy::errc::provider_required);
}

CAF_TEST(settled exchanges are priced and counted and written) {
  settlement s;
  auto& log = s.log;
  log.id = policy::uuid_v4();
  log.org_id = org.id;
  log.request_id = "r1";
  log.key_id = policy::uuid_v4();
  log.provider = "openai";
  log.model = "gpt-4o-mini";
  log.method = "POST";
  log.path = "/v1/chat/completions";
  log.status = 200;
  log.tokens_in = 10;
  log.tokens_out = 20;
  log.created_at = policy::rfc3339_ms(t0 * 1000);
  caf::anon_send(hdl, settle_atom_v, s);
  sched.run();
  auto rh = self->request(writer, caf::infinite, flush_atom_v);
  sched.run();
  rh.receive([](bool ok) { CAF_CHECK(ok); },
             [](caf::error& e) { CAF_FAIL("flush failed: " << e); });
  auto lease = pool.acquire();
  storage::store st{*lease};
  auto page = st.query_logs(org.id, {}, std::nullopt, 10);
  CAF_REQUIRE_EQUAL(page.logs.size(), 1u);
  // 10 tokens at $1/Mtok + 20 at $2/Mtok = 50 micro-dollars.
  CAF_CHECK_EQUAL(page.logs[0].cost_micros, 50);
  CAF_CHECK(!page.logs[0].unpriced);
  auto month = st.load_month_usage(org.id, log.created_at.substr(0, 7));
  CAF_REQUIRE_EQUAL(month.size(), 1u);
  CAF_CHECK_EQUAL(month[0].scope_type, "key");
  CAF_CHECK_EQUAL(month[0].requests, 1);
  CAF_CHECK_EQUAL(month[0].cost_micros, 50);
}

CAF_TEST_FIXTURE_SCOPE_END()
