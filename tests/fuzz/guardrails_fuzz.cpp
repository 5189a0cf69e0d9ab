// Guardrails over hostile bytes: every detector, a regular expression and
// blocked terms, applied to the bytes as a message text and as a chat
// request body and an answer. Nothing may throw or crash; a text is marked
// redacted exactly when it changed, only the blocking rule blocks, and a
// rewritten body is JSON.
//
// Input: the whole input is the text and the body.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "policy/guardrails.hpp"

namespace {

using namespace gatehouse;

const policy::compiled_guardrails& rules() {
  static const policy::compiled_guardrails compiled = [] {
    auto spec = nlohmann::json::parse(R"([
      {"name": "emails", "detector": "email", "action": "redact",
       "applies_to": "both"},
      {"name": "phones", "detector": "phone", "action": "redact"},
      {"name": "cards", "detector": "payment_card", "action": "redact"},
      {"name": "ibans", "detector": "iban", "action": "flag"},
      {"name": "ssns", "detector": "us_ssn", "action": "redact"},
      {"name": "ips", "detector": "ip_address", "action": "flag"},
      {"name": "secrets", "detector": "secret", "action": "block",
       "applies_to": "both"},
      {"name": "tickets", "detector": "regex", "pattern": "T-[0-9]{3,6}",
       "action": "redact"},
      {"name": "words", "detector": "terms", "terms": ["bluebird", "ÄÖ"],
       "action": "flag"}])");
    auto parsed = policy::parse_guardrail_rules(spec);
    FUZZ_CHECK(parsed.ok());
    auto c = policy::compiled_guardrails::compile(parsed.value());
    FUZZ_CHECK(c.ok());
    return c.value();
  }();
  return compiled;
}

void check_body(const policy::outcome<policy::guardrail_body_result>& r) {
  if (!r.ok()) {
    FUZZ_CHECK(!r.error().message.empty());
    return;
  }
  if (r.value().blocked)
    FUZZ_CHECK(!r.value().blocked_by.empty());
  if (r.value().body)
    FUZZ_CHECK(fuzz::parses(*r.value().body));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto& r = rules();
  auto text =
    policy::apply_guardrails(r, in, policy::guardrail_direction::request);
  if (text.ok()) {
    auto& t = text.value();
    FUZZ_CHECK(t.redacted == (t.text != in));
    if (t.blocked)
      FUZZ_CHECK(t.blocked_by == "secrets");
  }
  check_body(policy::apply_guardrails_to_request(r, in));
  check_body(policy::apply_guardrails_to_response(r, in));
  return 0;
}
