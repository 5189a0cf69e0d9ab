#define CAF_SUITE metrics
#include <caf/test/dsl.hpp>

#include <string>
#include <thread>
#include <vector>

#include "actors/metrics.hpp"

using namespace gatehouse;
using actors::metrics_registry;

namespace {

storage::request_log_record exchange(const std::string& org, int status) {
  storage::request_log_record log;
  log.org_id = org;
  log.provider = "openai";
  log.status = status;
  log.tokens_in = 3;
  log.tokens_out = 4;
  log.latency_ms = 2;
  if (status != 200)
    log.error_code = "upstream_error";
  return log;
}

bool has(const std::string& text, const std::string& sample) {
  return text.find(sample + "\n") != std::string::npos;
}

} // namespace

CAF_TEST(counts recorded by many threads add up in one rendering) {
  metrics_registry m;
  constexpr int threads = 4;
  constexpr int per_thread = 5000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&m, t] {
      for (int i = 0; i < per_thread; ++i) {
        m.record_exchange(exchange(t % 2 ? "org-b" : "org-a", 200));
        if (i % 100 == 0)
          m.record_exchange(exchange("org-a", 502));
      }
    });
  // Rendering while they record takes every shard's lock in turn.
  for (int i = 0; i < 20; ++i)
    CAF_CHECK(!m.render(std::nullopt).empty());
  for (auto& th : pool)
    th.join();
  auto all = m.render(std::nullopt);
  CAF_CHECK(has(
    all, R"(gatehouse_requests_total{provider="openai",status="200"} 20000)"));
  CAF_CHECK(has(
    all, R"(gatehouse_requests_total{provider="openai",status="502"} 200)"));
  CAF_CHECK(has(all, R"(gatehouse_errors_total{code="upstream_error"} 200)"));
  CAF_CHECK(has(all, R"(gatehouse_tokens_total{direction="in"} 60600)"));
  auto b = m.render(std::string{"org-b"});
  CAF_CHECK(has(
    b, R"(gatehouse_requests_total{provider="openai",status="200"} 10000)"));
  CAF_CHECK(!has(
    b, R"(gatehouse_requests_total{provider="openai",status="502"} 200)"));
}

CAF_TEST(a registry never counts into another one on the same thread) {
  metrics_registry first;
  first.record_exchange(exchange("org-a", 200));
  {
    metrics_registry second;
    second.record_exchange(exchange("org-a", 200));
    second.record_denial("org-a", policy::errc::budget_exceeded);
    CAF_CHECK(has(second.render(std::nullopt),
                  "gatehouse_budget_rejections_total 1"));
  }
  metrics_registry third;
  auto text = third.render(std::nullopt);
  CAF_CHECK(!has(text, "gatehouse_budget_rejections_total 1"));
  first.record_exchange(exchange("org-a", 200));
  CAF_CHECK(has(
    first.render(std::nullopt),
    R"(gatehouse_requests_total{provider="openai",status="200"} 2)"));
}
