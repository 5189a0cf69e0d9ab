#include "policy/webhook.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "policy/crypto.hpp"
#include "policy/text.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::string_view secret_prefix = "whsec_";
constexpr std::int64_t max_retry_gap_ms = 3600LL * 1000;
constexpr int thresholds[] = {50, 80, 100};

problem events_problem(std::string_view field, const std::string& why) {
  return make_problem(errc::invalid_request,
                      "field '" + std::string{field} + "': " + why);
}

} // namespace

const std::vector<std::string>& webhook_event_types() {
  static const std::vector<std::string> all{
    "budget.threshold", "key.created",      "key.rotated",   "key.revoked",
    "key.expiring",     "member.invited",   "member.joined", "member.suspended",
    "provider.errors",  "guardrail.blocked"};
  return all;
}

outcome<std::vector<std::string>>
parse_webhook_events(const nlohmann::json& value, std::string_view field) {
  if (!value.is_array() || value.empty())
    return events_problem(field, "must be a non-empty array of event types");
  auto& known = webhook_event_types();
  std::vector<std::string> out;
  for (auto& v : value) {
    if (!v.is_string())
      return events_problem(field, "must hold event types (strings)");
    auto& name = v.get_ref<const std::string&>();
    if (std::find(known.begin(), known.end(), name) == known.end())
      return events_problem(field,
                            "unknown event type '" + echo(name, 64) + "'");
    if (std::find(out.begin(), out.end(), name) != out.end())
      return events_problem(field, "'" + name + "' is given twice");
    out.push_back(name);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  auto n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(bytes.data()),
                           static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    return std::nullopt;
  for (char c : text)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'
          || c == '='))
      return std::nullopt;
  std::string out(3 * text.size() / 4, '\0');
  auto n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                           reinterpret_cast<const unsigned char*>(text.data()),
                           static_cast<int>(text.size()));
  if (n < 0)
    return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  auto pad = static_cast<std::size_t>(std::count(
    text.end() - std::min<std::size_t>(2, text.size()), text.end(), '='));
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string new_webhook_secret() {
  return std::string{secret_prefix} + base64_encode(random_bytes(32));
}

std::optional<std::string> webhook_secret_key(std::string_view secret) {
  if (secret.substr(0, secret_prefix.size()) != secret_prefix)
    return std::nullopt;
  auto key = base64_decode(secret.substr(secret_prefix.size()));
  if (!key || key->empty())
    return std::nullopt;
  return key;
}

std::string webhook_signature(std::string_view key, std::string_view id,
                              std::int64_t timestamp, std::string_view body) {
  std::string signed_text;
  signed_text.reserve(id.size() + body.size() + 24);
  signed_text.append(id).append(1, '.');
  signed_text.append(std::to_string(timestamp)).append(1, '.');
  signed_text.append(body);
  return "v1," + base64_encode(hmac_sha256(key, signed_text));
}

std::string webhook_body(const std::string& id, const std::string& type,
                         const std::string& created_at,
                         const std::string& org_id,
                         const std::string& data_json) {
  auto data = nlohmann::json::parse(data_json, nullptr, false);
  if (data.is_discarded() || !data.is_object())
    data = nlohmann::json::object();
  return nlohmann::json{{"id", id},
                        {"type", type},
                        {"created_at", created_at},
                        {"org_id", org_id},
                        {"data", std::move(data)}}
    .dump();
}

std::optional<std::int64_t> webhook_next_attempt(int attempt,
                                                 std::int64_t first_ms,
                                                 std::int64_t failed_ms,
                                                 std::int64_t base_ms) {
  std::int64_t gap = std::max<std::int64_t>(1, base_ms);
  for (int i = 1; i < attempt && gap < max_retry_gap_ms; ++i)
    gap *= 2;
  gap = std::min(gap, max_retry_gap_ms);
  auto next = failed_ms + gap;
  if (next > first_ms + webhook_retry_window_ms)
    return std::nullopt;
  return next;
}

int budget_threshold_reached(std::int64_t spent, std::int64_t limit) {
  if (limit <= 0)
    return 0;
  int reached = 0;
  for (int t : thresholds)
    // spent / limit >= t / 100, without overflow for realistic figures.
    if (static_cast<long double>(spent) * 100
        >= static_cast<long double>(limit) * t)
      reached = t;
  return reached;
}

std::vector<int> budget_thresholds_between(int from, int to) {
  std::vector<int> out;
  for (int t : thresholds)
    if (t > from && t <= to)
      out.push_back(t);
  return out;
}

bool error_burst::hit(std::int64_t now_ms) {
  times_.erase(
    std::remove_if(times_.begin(), times_.end(),
                   [&](std::int64_t t) { return t <= now_ms - window_ms; }),
    times_.end());
  times_.push_back(now_ms);
  if (static_cast<int>(times_.size()) < threshold || now_ms < quiet_until_)
    return false;
  quiet_until_ = now_ms + quiet_ms;
  times_.clear();
  return true;
}

bool is_provider_error(int status, const std::optional<std::string>& code) {
  if (code && (*code == "upstream_error" || *code == "upstream_timeout"))
    return true;
  return status >= 500 && status <= 599 && !code;
}

} // namespace gatehouse::policy
