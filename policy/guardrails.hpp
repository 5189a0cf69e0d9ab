#pragma once

// Guardrail rules: what tenants write (org, app and key level), how the
// levels combine, and how the effective rules are applied to a text and to
// a chat request or answer body. Pure: no I/O, no exceptions escaping.
//
// Placeholders: a redacted match becomes `[REDACTED_<DETECTOR>]` for the
// built-in detectors (`[REDACTED_EMAIL]`, `[REDACTED_PAYMENT_CARD]`, ...)
// and `[REDACTED:<rule name>]` for `regex` and `terms` rules.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "policy/outcome.hpp"
#include "policy/pii_detect.hpp"

namespace re2 {
class RE2;
} // namespace re2

namespace gatehouse::policy {

/// What a rule looks for.
enum class guardrail_detector {
  email,
  phone,
  payment_card,
  iban,
  us_ssn,
  ip_address,
  secret,
  /// A tenant's regular expression (RE2 syntax) in `pattern`.
  regex,
  /// A list of words or phrases in `terms`, matched case-insensitively as
  /// whole words.
  terms,
};

/// What a matching rule does, ordered from the weakest to the strictest.
enum class guardrail_action {
  /// Recorded on the log only.
  flag,
  /// Each match replaced with a placeholder before the text goes on.
  redact,
  /// The whole request (or answer) refused: 400 `guardrail_blocked`.
  block,
};

/// Which direction a rule applies to.
enum class guardrail_scope { request, response, both };

/// A direction of travel through the gateway.
enum class guardrail_direction { request, response };

/// One rule as a tenant wrote it.
struct guardrail_rule {
  /// Unique within its level: 1..64 characters of `[A-Za-z0-9_.-]`.
  std::string name;
  guardrail_detector detector = guardrail_detector::email;
  /// The RE2 expression of a `regex` rule; empty otherwise.
  std::string pattern;
  /// The terms of a `terms` rule; empty otherwise.
  std::vector<std::string> terms;
  guardrail_action action = guardrail_action::flag;
  guardrail_scope applies_to = guardrail_scope::request;
};

/// The rules of one level, or the effective rules, in order.
using guardrail_rules = std::vector<guardrail_rule>;

/// Limits on what a tenant may write, checked by `parse_guardrail_rules`.
struct guardrail_rule_limits {
  std::size_t max_rules = 50;
  std::size_t max_pattern_bytes = 1024;
  /// Largest compiled RE2 program (instructions) a `regex` pattern may
  /// give. RE2 runs in linear time, but when a pattern's DFA does not fit
  /// its memory it falls back to simulating the program, at a few
  /// nanoseconds per instruction per byte: this bound, with
  /// `guardrail_scan_limits::max_regex_work`, caps that cost.
  int max_program_size = 1000;
  /// Memory RE2 may use for one pattern (compiled program and DFA cache).
  long long max_regex_memory = 4 << 20;
  std::size_t max_terms = 500;
  std::size_t max_term_bytes = 100;
};

/// The API spelling of a detector ("payment_card", ...).
std::string_view to_string(guardrail_detector d);

/// The API spelling of an action ("redact", ...).
std::string_view to_string(guardrail_action a);

/// The API spelling of a scope ("request", ...).
std::string_view to_string(guardrail_scope s);

/// True for the detectors of personal data, which need the `pii_redaction`
/// entitlement on top of `guardrails`: email, phone, payment_card, iban,
/// us_ssn, ip_address. `secret`, `regex` and `terms` need only
/// `guardrails`.
bool is_pii_detector(guardrail_detector d);

/// Reads and validates one level's rules from JSON: an array of
/// `{"name", "detector", "pattern"?, "terms"?, "action", "applies_to"?}`.
/// `field` names the array in messages. Unknown members, a duplicate name,
/// a `pattern` on anything but `regex`, `terms` on anything but `terms`,
/// or a pattern RE2 refuses or that exceeds the limits are 400
/// `invalid_request` naming the field, e.g. "field 'rules[2].action': must
/// be one of redact, block, flag". Never throws.
outcome<guardrail_rules>
parse_guardrail_rules(const nlohmann::json& rules,
                      std::string_view field = "rules",
                      const guardrail_rule_limits& limits = {});

/// The JSON array of `rules`, as `parse_guardrail_rules` reads it back.
nlohmann::json to_json(const guardrail_rules& rules);

/// Combines an upper level's rules with a lower level's (org with app, or
/// that result with a key's). Every upper rule stays. A lower rule whose
/// name is new is added after them. A lower rule with the name of an upper
/// one can only tighten it: its action becomes the stricter of the two and
/// its scope the union of the two; the lower rule's detector, pattern and
/// terms are ignored, and a weaker action is ignored. Loosening is never
/// possible through a merge; `loosening_problem` reports an attempt to
/// whoever stores the lower level.
guardrail_rules merge_guardrail_rules(const guardrail_rules& upper,
                                      const guardrail_rules& lower);

/// The effective rules of a request: org, then app, then key.
guardrail_rules effective_guardrail_rules(const guardrail_rules& org,
                                          const guardrail_rules& app,
                                          const guardrail_rules& key);

/// A 400 `invalid_request` when `lower` names a rule of `upper` with a
/// weaker action, a narrower scope or a different detector (what
/// `merge_guardrail_rules` would ignore), for refusing such a write; the
/// message names the rule. `field` names the lower array ("guardrails").
std::optional<problem> loosening_problem(const guardrail_rules& upper,
                                         const guardrail_rules& lower,
                                         std::string_view field);

/// Effective rules made ready to apply: the tenants' expressions compiled
/// once. Cheap to copy and safe to share between threads.
class compiled_guardrails {
public:
  /// One rule with its compiled expression (regex and terms rules).
  struct entry {
    guardrail_rule rule;
    std::shared_ptr<const re2::RE2> re;
  };

  /// No rules: applying them costs nothing.
  compiled_guardrails() = default;

  /// Compiles `rules` (as `parse_guardrail_rules` would have checked them).
  /// Never throws.
  static outcome<compiled_guardrails>
  compile(const guardrail_rules& rules,
          const guardrail_rule_limits& limits = {});

  /// True when there is no rule at all.
  bool empty() const noexcept {
    return entries_.empty();
  }

  /// True when some rule applies in direction `dir`.
  bool applies(guardrail_direction dir) const noexcept;

  /// The program sizes of the `regex` rules, summed: the work per byte
  /// scanned that `guardrail_scan_limits::max_regex_work` is charged.
  std::size_t regex_weight() const noexcept;

  /// The rules, in effective order.
  const std::vector<entry>& entries() const noexcept {
    return entries_;
  }

private:
  std::vector<entry> entries_;
};

/// How many times one rule matched.
struct guardrail_hit {
  std::string rule;
  guardrail_action action = guardrail_action::flag;
  std::size_t count = 0;

  friend bool operator==(const guardrail_hit& a, const guardrail_hit& b) {
    return a.rule == b.rule && a.action == b.action && a.count == b.count;
  }
};

/// Bounds on one application, so that cost and output stay proportional
/// to the input.
struct guardrail_scan_limits {
  /// Largest text (or body) scanned; beyond it 413 `payload_too_large`.
  std::size_t max_bytes = 8u << 20;
  /// Most matches in one text (or body); beyond it 400 `invalid_request`.
  std::size_t max_matches = 10000;
  /// Most work for `regex` rules in one text (or body): the sum over those
  /// rules of program size times bytes scanned; beyond it 413
  /// `payload_too_large`. The default (2^27) lets a 32 KiB body meet
  /// patterns of 4096 instructions in all, and bounds the worst case (no
  /// DFA at all) near half a second of one core.
  std::size_t max_regex_work = std::size_t{1} << 27;
};

/// The result of applying rules to a text.
struct guardrail_text_result {
  /// True when a `block` rule matched.
  bool blocked = false;
  /// The first `block` rule (in effective order) that matched.
  std::string blocked_by;
  /// True when `text` differs from the input.
  bool redacted = false;
  /// The input with every `redact` match replaced by its placeholder.
  std::string text;
  /// The rules that matched, in effective order, with their counts.
  std::vector<guardrail_hit> hits;
};

/// Applies the rules for direction `dir` to `text` (UTF-8). Every rule
/// counts all its matches. Matches of `redact` rules that overlap are
/// merged into one replaced region that takes the placeholder of the
/// match starting first (the longest among those, then the earliest rule):
/// no byte of any match survives. Never throws.
outcome<guardrail_text_result>
apply_guardrails(const compiled_guardrails& rules, std::string_view text,
                 guardrail_direction dir,
                 const guardrail_scan_limits& limits = {});

/// The result of applying rules to a JSON body.
struct guardrail_body_result {
  bool blocked = false;
  std::string blocked_by;
  /// The rewritten body (compact JSON, member order kept) when something
  /// was redacted; nullopt when the body is to go on unchanged.
  std::optional<std::string> body;
  /// The rules that matched anywhere in the body, with their counts.
  std::vector<guardrail_hit> hits;
};

/// Applies the request rules to the text of a chat request body: OpenAI
/// and Anthropic `messages[].content` (a string, or parts with `text`,
/// nested `content` of tool results included), `system` (string or parts),
/// `instructions`, `prompt` (string or strings) and `input` (string,
/// strings, or items with `content` or `text`). Every other member stays
/// as it is. A body that is not a JSON object is 400 `invalid_request`.
/// Never throws.
outcome<guardrail_body_result>
apply_guardrails_to_request(const compiled_guardrails& rules,
                            std::string_view body,
                            const guardrail_scan_limits& limits = {});

/// Applies the response rules to a non-streaming answer body: OpenAI
/// `choices[].message.content` and `choices[].text`, Anthropic
/// `content[].text`, OpenAI Responses `output[].content[].text`. Never
/// throws.
outcome<guardrail_body_result>
apply_guardrails_to_response(const compiled_guardrails& rules,
                             std::string_view body,
                             const guardrail_scan_limits& limits = {});

/// The log entry's `guardrails` member: `[{"rule", "action", "count"}]`.
nlohmann::json to_json(const std::vector<guardrail_hit>& hits);

/// The placeholder for a match of `rule`: `[REDACTED_EMAIL]`, ... for the
/// built-in detectors, `[REDACTED:<name>]` for regex and terms rules.
std::string guardrail_placeholder(const guardrail_rule& rule);

} // namespace gatehouse::policy
