#include "policy/errc.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace gatehouse::policy;

namespace {

// The API.md error table, verbatim.
const std::vector<std::pair<errc, std::pair<int, std::string>>> api_table{
  {errc::invalid_request, {400, "invalid_request"}},
  {errc::immutable_field, {400, "immutable_field"}},
  {errc::provider_required, {400, "provider_required"}},
  {errc::unauthorized, {401, "unauthorized"}},
  {errc::invalid_credentials, {401, "invalid_credentials"}},
  {errc::key_in_query, {401, "key_in_query"}},
  {errc::forbidden, {403, "forbidden"}},
  {errc::user_suspended, {403, "user_suspended"}},
  {errc::scope_denied, {403, "scope_denied"}},
  {errc::plan_required, {403, "plan_required"}},
  {errc::limit_exceeded, {403, "limit_exceeded"}},
  {errc::app_inactive, {403, "app_inactive"}},
  {errc::not_found, {404, "not_found"}},
  {errc::conflict, {409, "conflict"}},
  {errc::payload_too_large, {413, "payload_too_large"}},
  {errc::rate_limited, {429, "rate_limited"}},
  {errc::budget_exceeded, {429, "budget_exceeded"}},
  {errc::upstream_error, {502, "upstream_error"}},
  {errc::upstream_timeout, {504, "upstream_timeout"}},
  {errc::guardrail_blocked, {400, "guardrail_blocked"}},
  {errc::overloaded, {503, "overloaded"}},
  {errc::internal_error, {500, "internal"}},
};

} // namespace

TEST(errc, strings_and_statuses_match_api_table) {
  for (const auto& [code, expected] : api_table) {
    EXPECT_EQ(to_string(code), expected.second);
    EXPECT_EQ(http_status(code), expected.first) << expected.second;
  }
}

TEST(errc, strings_are_unique) {
  std::set<std::string> seen;
  for (const auto& [code, expected] : api_table)
    EXPECT_TRUE(seen.insert(std::string{to_string(code)}).second);
  EXPECT_EQ(seen.size(), 22u);
}

TEST(errc, server_errors_log_as_errors_client_errors_below_warn) {
  for (const auto& [code, expected] : api_table) {
    if (expected.first >= 500)
      EXPECT_EQ(level_of(code), log_level::error) << expected.second;
    else
      EXPECT_TRUE(level_of(code) == log_level::info
                  || level_of(code) == log_level::debug)
        << expected.second;
  }
}

TEST(errc, make_problem_has_no_retry_hint) {
  auto p = make_problem(errc::scope_denied, "key may not use provider 'x'");
  EXPECT_EQ(p.code, errc::scope_denied);
  EXPECT_EQ(p.message, "key may not use provider 'x'");
  EXPECT_FALSE(p.retry_after_s.has_value());
  p.retry_after_s = 30;
  EXPECT_EQ(*p.retry_after_s, 30);
}
