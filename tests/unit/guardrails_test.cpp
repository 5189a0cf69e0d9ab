#include "policy/guardrails.hpp"
#include "policy/pii_detect.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

using namespace gatehouse::policy;
using nlohmann::json;

namespace {

using strings = std::vector<std::string>;

// The texts `kind` finds in `text`.
strings found(pii_kind kind, const std::string& text) {
  std::vector<text_span> spans;
  find_pii(kind, text, spans);
  strings out;
  for (auto s : spans)
    out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

// Asserts that `kind` finds exactly `expected` inside a sentence around it.
void expect_found(pii_kind kind, const std::string& value) {
  EXPECT_EQ(found(kind, "see " + value + ", thanks"), strings{value}) << value;
  EXPECT_EQ(found(kind, value), strings{value}) << value;
}

void expect_none(pii_kind kind, const std::string& text) {
  EXPECT_EQ(found(kind, text), strings{}) << text;
}

guardrail_rules rules_of(const json& j) {
  auto r = parse_guardrail_rules(j);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r.value() : guardrail_rules{};
}

compiled_guardrails compiled(const json& j) {
  auto c = compiled_guardrails::compile(rules_of(j));
  EXPECT_TRUE(c.ok());
  return c.ok() ? c.value() : compiled_guardrails{};
}

std::string parse_error(const json& j) {
  auto r = parse_guardrail_rules(j);
  EXPECT_FALSE(r.ok()) << j.dump();
  if (r.ok())
    return "";
  EXPECT_EQ(r.error().code, errc::invalid_request);
  return r.error().message;
}

json rule(const std::string& name, const std::string& detector,
          const std::string& action) {
  return {{"name", name}, {"detector", detector}, {"action", action}};
}

} // namespace

// --- detectors ---

TEST(guardrails, email) {
  expect_found(pii_kind::email, "ann.lee+tag@example.co.uk");
  expect_found(pii_kind::email, "x_y@sub.domain.example.org");
  EXPECT_EQ(found(pii_kind::email, "mail <Bob@Example.COM>."),
            strings{"Bob@Example.COM"});
  EXPECT_EQ(found(pii_kind::email, "a@b.io and c@d.io"),
            (strings{"a@b.io", "c@d.io"}));
  expect_none(pii_kind::email, "user@localhost is not routable");
  expect_none(pii_kind::email, "@example.com alone");
  expect_none(pii_kind::email, "a@b.c and foo@ bar.com");
}

TEST(guardrails, phone) {
  for (std::string p : {"+1 415 555 2671", "+14155552671", "+44 20 7946 0958",
                        "+49 (30) 1234567", "(415) 555-2671", "415-555-2671",
                        "415.555.2671", "020 7946 0958", "01 23 45 67 89"})
    expect_found(pii_kind::phone, p);
  // Bare numbers, cards, SSNs, dates, addresses and versions are not phones.
  for (std::string t :
       {"order 4155552671 shipped", "card 4111 1111 1111 1111",
        "card 4111111111111111", "ssn 123-45-6789", "on 2024-01-15 at 10:30",
        "host 10.100.200.255", "version 1.22.333.4444", "+1 555", "12345"})
    expect_none(pii_kind::phone, t);
}

TEST(guardrails, payment_card) {
  for (std::string c :
       {"4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
        "5500 0000 0000 0004", "378282246310005", "6011111111111117"})
    expect_found(pii_kind::payment_card, c);
  EXPECT_TRUE(luhn_valid("4111 1111 1111 1111"));
  EXPECT_FALSE(luhn_valid("4111 1111 1111 1112"));
  EXPECT_FALSE(luhn_valid(""));
  // Luhn-invalid, too short, too long, all zeros, a phone number.
  for (std::string t :
       {"4111 1111 1111 1112", "4111111111111112", "411111111111",
        "41111111111111111111111", "0000 0000 0000 0000", "+4111111111111111",
        "id 4111 1111 1111 1111 9 more"})
    expect_none(pii_kind::payment_card, t);
  // A card followed by a year: the card alone.
  EXPECT_EQ(found(pii_kind::payment_card, "4111 1111 1111 1111 2030"),
            strings{"4111 1111 1111 1111"});
}

TEST(guardrails, iban) {
  for (std::string i :
       {"DE89 3704 0044 0532 0130 00", "DE89370400440532013000",
        "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606",
        "NL91ABNA0417164300", "NO9386011117947"})
    expect_found(pii_kind::iban, i);
  EXPECT_TRUE(iban_valid("GB82WEST12345698765432"));
  // A wrong check digit, a wrong length for the country, an unknown
  // country, lower case.
  for (std::string t : {"DE89 3704 0044 0532 0130 01", "DE88370400440532013000",
                        "DE89 3704 0044 0532 0130 0", "ZZ89370400440532013000",
                        "de89370400440532013000"})
    expect_none(pii_kind::iban, t);
  EXPECT_FALSE(iban_valid("GB82WEST12345698765431"));
  // An IBAN run into a following word in capitals: the IBAN alone.
  EXPECT_EQ(found(pii_kind::iban, "GB82 WEST 1234 5698 7654 32 THEN"),
            strings{"GB82 WEST 1234 5698 7654 32"});
  // The digits of an IBAN are not a card.
  expect_none(pii_kind::payment_card, "DE89 3704 0044 0532 0130 00");
}

TEST(guardrails, us_ssn) {
  expect_found(pii_kind::us_ssn, "123-45-6789");
  expect_found(pii_kind::us_ssn, "123 45 6789");
  expect_found(pii_kind::us_ssn, "899-99-9999");
  for (std::string t :
       {"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456",
        "123-00-4567", "123-45-0000", "123456789", "123-45-67890",
        "1123-45-6789", "123-45-6789-1", "123-45 6789"})
    expect_none(pii_kind::us_ssn, t);
}

TEST(guardrails, ip_address) {
  for (std::string ip : {"192.168.1.1", "10.0.0.255", "0.0.0.0", "2001:db8::1",
                         "fe80::1ff:fe23:4567:890a", "::1", "::ffff:192.0.2.1",
                         "2001:0db8:85a3:0000:0000:8a2e:0370:7334"})
    expect_found(pii_kind::ip_address, ip);
  for (std::string t : {"256.1.1.1", "1.2.3.4.5", "version 1.2.3",
                        "at 12:30:45", "std::vector<int>",
                        "mac 00:1A:2B:3C:4D:5E", "Bad::Add", "x::1", "1.2.3"})
    expect_none(pii_kind::ip_address, t);
  EXPECT_EQ(found(pii_kind::ip_address, "from 10.0.0.1 to 2001:db8::2."),
            (strings{"10.0.0.1", "2001:db8::2"}));
}

TEST(guardrails, secret) {
  for (std::string s :
       {"sk-proj-abcdefghijklmnopqrstuvwx1234",
        "sk-ant-api03-abcdefghijklmnopqrstu_XYZ", "AKIAIOSFODNN7EXAMPLE",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghij",
        "xoxb-1234567890-abcdefghij", "AIzaSyA1234567890abcdefghijklmnopqrstu",
        "sk-gate-0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
        "cdef",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NSJ9.abcdefghijKLMNOP",
        "Zx8Qp2LmN4vR7tY1kW9sB3dF6gH0jK5c"})
    expect_found(pii_kind::secret, s);
  std::string pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n"
                    "abcd+/==\n-----END RSA PRIVATE KEY-----";
  EXPECT_EQ(found(pii_kind::secret, "key:\n" + pem + "\nend"), strings{pem});
  for (std::string t :
       {"ask-me-anything-about-the-weather-please",
        "3f786850e387550fdab836ed7e6dc881de23001b",
        "123e4567-e89b-12d3-a456-426614174000",
        "ThisIsAVeryLongIdentifierNameForTesting", "sk-short",
        "AKIAIOSFODNN7EXAMPLEX", "the quick brown fox jumps over the dog"})
    expect_none(pii_kind::secret, t);
  EXPECT_TRUE(is_high_entropy_token("Zx8Qp2LmN4vR7tY1kW9sB3dF6gH0jK5c"));
  EXPECT_FALSE(is_high_entropy_token("Zx8Qp2LmN4vR7tY1kW9sB3dF6gH0jK5"));
  EXPECT_FALSE(is_high_entropy_token("AAAAAAAAAAAAAAAAaaaaaaaaaaaaaaaa12"));
}

// --- rules: parsing and validation ---

TEST(guardrails, parse_valid_rules) {
  auto r = parse_guardrail_rules(json::parse(R"([
    {"name": "emails", "detector": "email", "action": "redact"},
    {"name": "proj", "detector": "regex", "pattern": "PROJ-\\d{4}",
     "action": "flag", "applies_to": "both"},
    {"name": "words", "detector": "terms", "terms": [" Codename X ", "zeus"],
     "action": "block", "applies_to": null}
  ])"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ(r.value()[0].applies_to, guardrail_scope::request);
  EXPECT_EQ(r.value()[1].applies_to, guardrail_scope::both);
  EXPECT_EQ(r.value()[2].terms, (strings{"Codename X", "zeus"}));
  EXPECT_EQ(to_json(r.value())[1]["pattern"], "PROJ-\\d{4}");
  auto again = parse_guardrail_rules(to_json(r.value()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(to_json(again.value()), to_json(r.value()));
  EXPECT_TRUE(is_pii_detector(guardrail_detector::iban));
  EXPECT_FALSE(is_pii_detector(guardrail_detector::secret));
}

TEST(guardrails, parse_errors_name_the_field) {
  auto one = [](json r) { return parse_error(json::array({r})); };
  EXPECT_EQ(parse_error(json::object()), "field 'rules': must be an array");
  EXPECT_EQ(one(7), "field 'rules[0]': must be an object");
  EXPECT_EQ(one({{"detector", "email"}, {"action", "flag"}}),
            "field 'rules[0].name': is required");
  EXPECT_EQ(one(rule("has space", "email", "flag")),
            "field 'rules[0].name': must be 1 to 64 characters of letters, "
            "digits, '_', '-' and '.'");
  EXPECT_EQ(one(rule("a", "passport", "flag")),
            "field 'rules[0].detector': must be one of email, phone, "
            "payment_card, iban, us_ssn, ip_address, secret, regex, terms");
  EXPECT_EQ(one(rule("a", "email", "drop")),
            "field 'rules[0].action': must be one of redact, block, flag");
  auto scoped = rule("a", "email", "flag");
  scoped["applies_to"] = "upstream";
  EXPECT_EQ(one(scoped), "field 'rules[0].applies_to': must be one of "
                         "request, response, both");
  auto extra = rule("a", "email", "flag");
  extra["colour"] = "red";
  EXPECT_EQ(one(extra), "field 'rules[0].colour': unknown field");
  auto stray = rule("a", "email", "flag");
  stray["pattern"] = "x";
  EXPECT_EQ(one(stray), "field 'rules[0].pattern': is only allowed with "
                        "detector 'regex'");
  EXPECT_EQ(one(rule("a", "regex", "flag")),
            "field 'rules[0].pattern': is required");
  EXPECT_EQ(one(rule("a", "terms", "flag")),
            "field 'rules[0].terms': is required");
  auto blank = rule("a", "terms", "flag");
  blank["terms"] = {"ok", "  "};
  EXPECT_EQ(one(blank), "field 'rules[0].terms[1]': must be a non-blank "
                        "string of at most 100 bytes");
  auto numeric = rule("a", "email", "flag");
  numeric["action"] = 3;
  EXPECT_EQ(one(numeric), "field 'rules[0].action': must be a string");
  EXPECT_EQ(parse_error(json::array(
              {rule("a", "email", "flag"), rule("a", "phone", "block")})),
            "field 'rules[1].name': duplicates the rule 'a'");
  json many = json::array();
  for (int i = 0; i < 51; ++i)
    many.push_back(rule("r" + std::to_string(i), "email", "flag"));
  EXPECT_EQ(parse_error(many), "field 'rules': must have at most 50 rules");
  auto r = parse_guardrail_rules(json::array(), "guardrails");
  EXPECT_TRUE(r.ok());
}

TEST(guardrails, regex_patterns_rejected) {
  auto error_for = [](const std::string& pattern) {
    auto r = rule("p", "regex", "block");
    r["pattern"] = pattern;
    return parse_error(json::array({r}));
  };
  EXPECT_EQ(error_for("(unclosed"),
            "field 'rules[0].pattern': is not a valid RE2 expression: "
            "missing ): (unclosed");
  // Backtracking-only constructs do not exist in RE2.
  EXPECT_NE(error_for("(a)\\1").find("is not a valid RE2 expression"),
            std::string::npos);
  EXPECT_NE(error_for("foo(?=bar)").find("is not a valid RE2 expression"),
            std::string::npos);
  EXPECT_NE(error_for("a{2000}").find("is not a valid RE2 expression"),
            std::string::npos);
  EXPECT_NE(error_for("(?:abcdef){900}").find("is too complex (compiles to"),
            std::string::npos);
  EXPECT_EQ(error_for("a*"),
            "field 'rules[0].pattern': must not match the empty string");
  EXPECT_EQ(error_for(std::string(1025, 'a')),
            "field 'rules[0].pattern': must be at most 1024 bytes");
  // A larger program with a tighter memory budget fails to compile.
  guardrail_rule_limits tight;
  tight.max_regex_memory = 64 << 10;
  auto big = rule("p", "regex", "block");
  big["pattern"] = "\\pL{200}";
  auto r = parse_guardrail_rules(json::array({big}), "rules", tight);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("rules[0].pattern"), std::string::npos);
}

// --- merging ---

TEST(guardrails, merge_adds_and_tightens_never_loosens) {
  auto org = rules_of(json::array({rule("emails", "email", "redact"),
                                   rule("cards", "payment_card", "block"),
                                   rule("ips", "ip_address", "flag")}));
  auto app_json = json::array({rule("emails", "email", "block"),
                               rule("cards", "payment_card", "flag"),
                               rule("phones", "phone", "redact")});
  app_json[2]["applies_to"] = "both";
  auto app = rules_of(app_json);
  auto key_json = json::array({rule("ips", "regex", "redact")});
  key_json[0]["detector"] = "ip_address";
  key_json[0]["applies_to"] = "response";
  auto key = rules_of(key_json);

  auto eff = effective_guardrail_rules(org, app, key);
  ASSERT_EQ(eff.size(), 4u);
  EXPECT_EQ(eff[0].name, "emails");
  EXPECT_EQ(eff[0].action, guardrail_action::block); // tightened
  EXPECT_EQ(eff[1].action, guardrail_action::block); // loosening ignored
  EXPECT_EQ(eff[2].name, "ips");
  EXPECT_EQ(eff[2].action, guardrail_action::redact);
  EXPECT_EQ(eff[2].applies_to, guardrail_scope::both); // scopes unite
  EXPECT_EQ(eff[3].name, "phones");

  // A lower level cannot redefine what an inherited rule detects.
  auto redefine = rules_of(json::array({rule("cards", "email", "block")}));
  auto merged = merge_guardrail_rules(org, redefine);
  EXPECT_EQ(merged[1].detector, guardrail_detector::payment_card);

  // The same attempts, reported for refusing the write.
  auto loose = loosening_problem(org, app, "guardrails");
  ASSERT_TRUE(loose);
  EXPECT_EQ(loose->message,
            "field 'guardrails[1].action': rule 'cards' is inherited with "
            "action 'block' and cannot be loosened");
  auto re = loosening_problem(org, redefine, "guardrails");
  ASSERT_TRUE(re);
  EXPECT_EQ(re->message, "field 'guardrails[0].detector': rule 'cards' is "
                         "inherited and cannot be redefined");
  EXPECT_FALSE(loosening_problem(org, key, "guardrails"));
  auto both = rules_of(json::array({rule("x", "email", "flag")}));
  both[0].applies_to = guardrail_scope::both;
  auto narrow = rules_of(json::array({rule("x", "email", "block")}));
  ASSERT_TRUE(loosening_problem(both, narrow, "g"));
  EXPECT_EQ(effective_guardrail_rules({}, {}, {}).size(), 0u);
}

// --- applying ---

TEST(guardrails, apply_redacts_with_typed_placeholders) {
  auto proj = rule("project-codes", "regex", "redact");
  proj["pattern"] = "PROJ-\\d{4}";
  auto g = compiled(json::array(
    {rule("emails", "email", "redact"), rule("cards", "payment_card", "redact"),
     rule("ibans", "iban", "redact"), rule("ssn", "us_ssn", "redact"),
     rule("phones", "phone", "redact"), rule("ips", "ip_address", "redact"),
     rule("keys", "secret", "redact"), proj}));
  auto r = apply_guardrails(g,
                            "Mail ann@example.com, card 4111 1111 1111 1111, "
                            "IBAN DE89 3704 0044 0532 0130 00, SSN "
                            "123-45-6789, call +1 415 555 2671 from "
                            "10.0.0.1 with AKIAIOSFODNN7EXAMPLE on PROJ-1234.",
                            guardrail_direction::request);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->blocked);
  EXPECT_TRUE(r->redacted);
  EXPECT_EQ(r->text,
            "Mail [REDACTED_EMAIL], card [REDACTED_PAYMENT_CARD], IBAN "
            "[REDACTED_IBAN], SSN [REDACTED_US_SSN], call [REDACTED_PHONE] "
            "from [REDACTED_IP_ADDRESS] with [REDACTED_SECRET] on "
            "[REDACTED:project-codes].");
  EXPECT_EQ(r->hits.size(), 8u);
  EXPECT_EQ(r->hits[0], (guardrail_hit{"emails", guardrail_action::redact, 1}));
  EXPECT_EQ(
    to_json(r->hits)[7],
    json({{"rule", "project-codes"}, {"action", "redact"}, {"count", 1}}));

  auto clean
    = apply_guardrails(g, "nothing to see", guardrail_direction::request);
  ASSERT_TRUE(clean.ok());
  EXPECT_FALSE(clean->redacted);
  EXPECT_EQ(clean->text, "nothing to see");
  EXPECT_TRUE(clean->hits.empty());
}

TEST(guardrails, apply_block_flag_and_direction) {
  auto terms = rule("banned", "terms", "block");
  terms["terms"] = {"Project Zeus", "zeus", "café"};
  auto g = compiled(json::array({rule("emails", "email", "flag"), terms,
                                 rule("ips", "ip_address", "block")}));
  auto r = apply_guardrails(g, "Ask a@b.io about project ZEUS.",
                            guardrail_direction::request);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->blocked);
  EXPECT_EQ(r->blocked_by, "banned");
  EXPECT_FALSE(r->redacted); // flags and blocks never rewrite
  ASSERT_EQ(r->hits.size(), 2u);
  EXPECT_EQ(r->hits[0], (guardrail_hit{"emails", guardrail_action::flag, 1}));
  EXPECT_EQ(r->hits[1], (guardrail_hit{"banned", guardrail_action::block, 1}));

  // Whole words only, case-insensitive, adjacent occurrences all counted,
  // non-ASCII letters are word characters.
  auto count = [&](const std::string& text) {
    auto res = apply_guardrails(g, text, guardrail_direction::request);
    EXPECT_TRUE(res.ok());
    return res->hits.empty() ? 0 : res->hits[0].count;
  };
  EXPECT_EQ(count("zeusy, azeus, zeus_1"), 0u);
  EXPECT_EQ(count("zeus zeus,ZEUS"), 3u);
  EXPECT_EQ(count("un CAFÉ noir"), 1u);
  EXPECT_EQ(count("cafés"), 0u);
  EXPECT_EQ(count("«café»"), 1u);
  EXPECT_EQ(count("azeus-zeus"), 1u); // found after one inside a word
  EXPECT_EQ(count("Project Zeusx"), 0u);

  // A rule for requests only does not apply to answers.
  auto resp = apply_guardrails(g, "zeus", guardrail_direction::response);
  ASSERT_TRUE(resp.ok());
  EXPECT_FALSE(resp->blocked);
  EXPECT_FALSE(g.applies(guardrail_direction::response));
  EXPECT_TRUE(g.applies(guardrail_direction::request));
  // Of two blocking rules, the first in effective order is named.
  auto both
    = apply_guardrails(g, "zeus at 10.0.0.1", guardrail_direction::request);
  EXPECT_EQ(both->blocked_by, "banned");
  auto ip_first
    = apply_guardrails(g, "10.0.0.1 zeus", guardrail_direction::request);
  EXPECT_EQ(ip_first->blocked_by, "banned");
}

TEST(guardrails, overlapping_matches_merge_deterministically) {
  auto digits = rule("digits", "regex", "redact");
  digits["pattern"] = "\\d{4} \\d{4}";
  auto word = rule("word", "regex", "redact");
  word["pattern"] = "example";
  auto g
    = compiled(json::array({digits, rule("cards", "payment_card", "redact"),
                            rule("emails", "email", "redact"), word}));
  // The card starts first and is longest; the digits rule's matches inside
  // it merge into the card's region. The e-mail contains "example": one
  // region under the e-mail's placeholder.
  auto r = apply_guardrails(g, "4111 1111 1111 1111 or bob@example.com",
                            guardrail_direction::request);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, "[REDACTED_PAYMENT_CARD] or [REDACTED_EMAIL]");
  ASSERT_EQ(r->hits.size(), 4u);
  EXPECT_EQ(r->hits[0].count, 2u); // both digit pairs counted
  // Partly overlapping: the union is replaced, under the first match.
  auto ab = rule("ab", "regex", "redact");
  ab["pattern"] = "aaa bbb";
  auto bc = rule("bc", "regex", "redact");
  bc["pattern"] = "bbb ccc";
  auto g2 = compiled(json::array({bc, ab}));
  auto r2
    = apply_guardrails(g2, "x aaa bbb ccc y", guardrail_direction::request);
  EXPECT_EQ(r2->text, "x [REDACTED:ab] y");
  // Empty matches of a pattern (a word boundary) are skipped.
  auto edge = rule("edge", "regex", "flag");
  edge["pattern"] = "\\b";
  auto g3 = compiled(json::array({edge}));
  auto r3 = apply_guardrails(g3, "a bé c", guardrail_direction::request);
  ASSERT_TRUE(r3.ok());
  EXPECT_TRUE(r3->hits.empty());
}

TEST(guardrails, limits_bound_input_and_matches) {
  auto g = compiled(json::array({rule("emails", "email", "redact")}));
  guardrail_scan_limits lim;
  lim.max_bytes = 10;
  auto big
    = apply_guardrails(g, "0123456789a", guardrail_direction::request, lim);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, errc::payload_too_large);
  guardrail_scan_limits few;
  few.max_matches = 2;
  auto many = apply_guardrails(g, "a@b.io c@d.io e@f.io",
                               guardrail_direction::request, few);
  ASSERT_FALSE(many.ok());
  EXPECT_EQ(many.error().code, errc::invalid_request);
  // The work of patterns is bounded: program size times bytes scanned.
  auto proj = rule("proj", "regex", "flag");
  proj["pattern"] = "PROJ-[0-9]{4}";
  auto proj2 = proj;
  proj2["name"] = "proj2";
  auto gp = compiled(json::array({proj, proj2}));
  EXPECT_EQ(g.regex_weight(), 0u);
  ASSERT_GT(gp.regex_weight(), 0u);
  guardrail_scan_limits work;
  work.max_regex_work = gp.regex_weight() * 100;
  EXPECT_TRUE(apply_guardrails(gp, std::string(100, 'x'),
                               guardrail_direction::request, work)
                .ok());
  auto heavy = apply_guardrails(gp, std::string(101, 'x'),
                                guardrail_direction::request, work);
  ASSERT_FALSE(heavy.ok());
  EXPECT_EQ(heavy.error().code, errc::payload_too_large);
  // A pattern that backtracking engines take exponential time on.
  auto evil = rule("evil", "regex", "block");
  evil["pattern"] = "(a+)+$";
  auto ge = compiled(json::array({evil}));
  std::string text(200000, 'a');
  text += '!';
  auto start = std::chrono::steady_clock::now();
  auto r = apply_guardrails(ge, text, guardrail_direction::request);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - start)
              .count();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->blocked);
  EXPECT_LT(ms, 2000);
}

// --- bodies ---

TEST(guardrails, request_body_strings_only) {
  auto g = compiled(json::array({rule("emails", "email", "redact")}));
  std::string body = R"({"model":"gpt-4o","user":"a@b.io","messages":[)"
                     R"({"role":"system","content":"mail a@b.io"},)"
                     R"({"role":"user","content":[{"type":"text","text":)"
                     R"("or c@d.io"},{"type":"image_url","image_url":)"
                     R"({"url":"https://x.io/e@f.io"}}]},)"
                     R"({"role":"user","content":[{"type":"tool_result",)"
                     R"("tool_use_id":"t1","content":"g@h.io"}]}],)"
                     R"("system":[{"type":"text","text":"i@j.io"}],)"
                     R"("metadata":{"note":"k@l.io"},"temperature":0.5})";
  auto r = apply_guardrails_to_request(g, body);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(r->body);
  auto out = json::parse(*r->body);
  EXPECT_EQ(out["user"], "a@b.io");
  EXPECT_EQ(out["messages"][0]["content"], "mail [REDACTED_EMAIL]");
  EXPECT_EQ(out["messages"][1]["content"][0]["text"], "or [REDACTED_EMAIL]");
  EXPECT_EQ(out["messages"][1]["content"][1]["image_url"]["url"],
            "https://x.io/e@f.io");
  EXPECT_EQ(out["messages"][2]["content"][0]["content"], "[REDACTED_EMAIL]");
  EXPECT_EQ(out["system"][0]["text"], "[REDACTED_EMAIL]");
  EXPECT_EQ(out["metadata"]["note"], "k@l.io");
  EXPECT_EQ(out["temperature"], 0.5);
  // Member order is kept.
  EXPECT_EQ(r->body->rfind(R"({"model":"gpt-4o","user")", 0), 0u);
  ASSERT_EQ(r->hits.size(), 1u);
  EXPECT_EQ(r->hits[0].count, 4u);

  // Completions and embeddings.
  auto p = apply_guardrails_to_request(
    g, R"({"prompt":["x a@b.io", 5],"input":"c@d.io"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p->body, R"({"prompt":["x [REDACTED_EMAIL]",5],)"
                      R"("input":"[REDACTED_EMAIL]"})");
  auto items = apply_guardrails_to_request(
    g, R"({"input":[{"role":"user","content":"a@b.io"}]})");
  EXPECT_EQ(*items->body,
            R"({"input":[{"role":"user","content":"[REDACTED_EMAIL]"}]})");

  // Nothing redacted: the body goes on byte for byte.
  auto same = apply_guardrails_to_request(
    g, R"({"messages": [ {"role":"user","content":"hi"} ]})");
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->body);
  EXPECT_TRUE(same->hits.empty());

  // Not a JSON object.
  auto bad = apply_guardrails_to_request(g, "[1,2]");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, errc::invalid_request);
  EXPECT_FALSE(apply_guardrails_to_request(g, "{oops").ok());
  // No rule for requests: nothing parsed, nothing to do.
  EXPECT_FALSE(
    apply_guardrails_to_request(compiled_guardrails{}, "{oops")->body);
}

TEST(guardrails, blocked_body_and_response_body) {
  auto block = rule("no-keys", "secret", "block");
  block["applies_to"] = "both";
  auto g = compiled(json::array({block, rule("emails", "email", "redact")}));
  auto r
    = apply_guardrails_to_request(g, R"({"messages":[{"role":"user","content":)"
                                     R"("a@b.io AKIAIOSFODNN7EXAMPLE"}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->blocked);
  EXPECT_EQ(r->blocked_by, "no-keys");
  EXPECT_FALSE(r->body);
  EXPECT_EQ(r->hits.size(), 2u);

  auto resp = apply_guardrails_to_response(
    g, R"({"choices":[{"message":{"role":"assistant","content":"ok"}}]})");
  ASSERT_TRUE(resp.ok());
  EXPECT_FALSE(resp->blocked);
  auto leak = apply_guardrails_to_response(
    g, R"({"content":[{"type":"text","text":"use AKIAIOSFODNN7EXAMPLE"}]})");
  ASSERT_TRUE(leak.ok());
  EXPECT_TRUE(leak->blocked);

  auto redact_resp = rule("emails", "email", "redact");
  redact_resp["applies_to"] = "response";
  auto gr = compiled(json::array({redact_resp}));
  auto openai = apply_guardrails_to_response(
    gr, R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant",)"
        R"("content":"write to a@b.io"}},{"index":1,"text":"c@d.io"}]})");
  ASSERT_TRUE(openai.ok());
  EXPECT_EQ(*openai->body,
            R"({"id":"x","choices":[{"index":0,"message":{"role":)"
            R"("assistant","content":"write to [REDACTED_EMAIL]"}},)"
            R"({"index":1,"text":"[REDACTED_EMAIL]"}]})");
  auto responses = apply_guardrails_to_response(
    gr, R"({"output":[{"type":"message","content":[{"type":"output_text",)"
        R"("text":"a@b.io"}]}]})");
  EXPECT_NE(responses->body->find("[REDACTED_EMAIL]"), std::string::npos);
}

// --- cost ---

TEST(guardrails, scan_cost_of_a_32k_chat_body) {
  auto custom = rule("codes", "regex", "redact");
  custom["pattern"] = "(?i)ticket-[0-9]{5}";
  auto terms = rule("terms", "terms", "flag");
  terms["terms"] = {"confidential", "internal only", "project zeus"};
  auto g = compiled(json::array(
    {rule("email", "email", "redact"), rule("phone", "phone", "redact"),
     rule("card", "payment_card", "redact"), rule("iban", "iban", "redact"),
     rule("ssn", "us_ssn", "redact"), rule("ip", "ip_address", "redact"),
     rule("secret", "secret", "flag"), custom, terms}));
  std::string paragraph
    = "Please summarise the attached meeting notes for the quarterly review. "
      "Attendees discussed the roadmap (v2.3.1), the budget of 12,500 EUR and "
      "follow-ups for ticket-10234 by 2024-05-01. Contact ann@example.com or "
      "+44 20 7946 0958; server 10.0.0.12 hosts the internal only dashboard.\n";
  json messages = json::array();
  std::size_t size = 0;
  while (size < 33 * 1024) {
    messages.push_back({{"role", "user"}, {"content", paragraph}});
    size += paragraph.size() + 32;
  }
  std::string body = json{{"model", "gpt-4o"}, {"messages", messages}}.dump();
  ASSERT_GE(body.size(), 32u * 1024);

  constexpr int rounds = 50;
  auto start = std::chrono::steady_clock::now();
  std::size_t redacted = 0;
  for (int i = 0; i < rounds; ++i) {
    auto r = apply_guardrails_to_request(g, body);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->body);
    redacted += r->body->size();
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
              std::chrono::steady_clock::now() - start)
              .count()
            / rounds;
  std::cout << "[ guardrails ] " << body.size() << "-byte chat body, "
            << g.entries().size() << " rules: " << us << " us per scan\n";
  EXPECT_GT(redacted, 0u);
  EXPECT_LT(us, 200000); // a bound on gross regressions, not a benchmark
}
