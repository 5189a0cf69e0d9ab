#include "policy/guardrails.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "policy/text.hpp"
#include "policy/validate.hpp"

namespace gatehouse::policy {

namespace {

using json = nlohmann::json;

constexpr std::size_t max_name_chars = 64;

constexpr std::array<guardrail_detector, 9> all_detectors{
  guardrail_detector::email,        guardrail_detector::phone,
  guardrail_detector::payment_card, guardrail_detector::iban,
  guardrail_detector::us_ssn,       guardrail_detector::ip_address,
  guardrail_detector::secret,       guardrail_detector::regex,
  guardrail_detector::terms,
};

constexpr std::array<guardrail_action, 3> all_actions{
  guardrail_action::redact, guardrail_action::block, guardrail_action::flag};

constexpr std::array<guardrail_scope, 3> all_scopes{
  guardrail_scope::request, guardrail_scope::response, guardrail_scope::both};

template <class Enum, std::size_t N>
std::optional<Enum> enum_of(const std::array<Enum, N>& all,
                            std::string_view s) {
  for (auto v : all)
    if (to_string(v) == s)
      return v;
  return std::nullopt;
}

template <class Enum, std::size_t N>
std::string one_of(const std::array<Enum, N>& all) {
  std::string out = "must be one of ";
  for (std::size_t i = 0; i < N; ++i)
    out += (i == 0 ? "" : ", ") + std::string{to_string(all[i])};
  return out;
}

problem field_problem(const std::string& field, std::string_view why) {
  return make_problem(errc::invalid_request,
                      "field '" + field + "': " + std::string{why});
}

bool valid_rule_name(std::string_view s) {
  if (s.empty() || s.size() > max_name_chars)
    return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
  });
}

bool covers(guardrail_scope s, guardrail_direction d) {
  return s == guardrail_scope::both
         || (s == guardrail_scope::request && d == guardrail_direction::request)
         || (s == guardrail_scope::response
             && d == guardrail_direction::response);
}

guardrail_scope scope_union(guardrail_scope a, guardrail_scope b) {
  return a == b ? a : guardrail_scope::both;
}

std::optional<pii_kind> builtin_kind(guardrail_detector d) {
  switch (d) {
  case guardrail_detector::email:
    return pii_kind::email;
  case guardrail_detector::phone:
    return pii_kind::phone;
  case guardrail_detector::payment_card:
    return pii_kind::payment_card;
  case guardrail_detector::iban:
    return pii_kind::iban;
  case guardrail_detector::us_ssn:
    return pii_kind::us_ssn;
  case guardrail_detector::ip_address:
    return pii_kind::ip_address;
  case guardrail_detector::secret:
    return pii_kind::secret;
  default:
    return std::nullopt;
  }
}

// The expression of a terms rule: any of the terms, case-insensitively,
// the longest at a position. Whole-word boundaries are checked by the
// scan: a class of all Unicode letters here would multiply the program.
std::string terms_pattern(const std::vector<std::string>& terms) {
  std::string p = "(?i)(?:";
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (i > 0)
      p += '|';
    p += RE2::QuoteMeta(terms[i]);
  }
  p += ')';
  return p;
}

// Compiles a tenant's expression or a terms rule's, within the limits.
// `field` names the member in error messages.
outcome<std::shared_ptr<const re2::RE2>>
compile_rule_re(const guardrail_rule& rule, const guardrail_rule_limits& lim,
                const std::string& field) {
  bool terms = rule.detector == guardrail_detector::terms;
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_max_mem(lim.max_regex_memory);
  opt.set_never_capture(true);
  opt.set_longest_match(terms);
  if (!terms && rule.pattern.size() > lim.max_pattern_bytes)
    return field_problem(field, "must be at most "
                                  + std::to_string(lim.max_pattern_bytes)
                                  + " bytes");
  std::string pattern = terms ? terms_pattern(rule.terms) : rule.pattern;
  auto re = std::make_shared<const RE2>(pattern, opt);
  if (!re->ok()) {
    if (terms)
      return field_problem(field, "are too many or too long to compile ("
                                    + echo(re->error()) + ")");
    return field_problem(field,
                         "is not a valid RE2 expression: " + echo(re->error()));
  }
  // A literal list runs in the DFA whatever its size; a tenant's
  // expression may not, and then costs its program size per byte.
  if (!terms && re->ProgramSize() > lim.max_program_size)
    return field_problem(field, "is too complex (compiles to "
                                  + std::to_string(re->ProgramSize())
                                  + " instructions, at most "
                                  + std::to_string(lim.max_program_size) + ")");
  if (!terms && RE2::FullMatch("", *re))
    return field_problem(field, "must not match the empty string");
  return re;
}

std::string at_index(std::string_view field, std::size_t i) {
  return std::string{field} + "[" + std::to_string(i) + "]";
}

outcome<std::vector<std::string>>
parse_terms(const json& v, const std::string& field,
            const guardrail_rule_limits& lim) {
  if (!v.is_array() || v.empty())
    return field_problem(field, "must be a non-empty array of strings");
  if (v.size() > lim.max_terms)
    return field_problem(field, "must have at most "
                                  + std::to_string(lim.max_terms) + " terms");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto* s = v[i].get_ptr<const std::string*>();
    std::string_view t = s ? trim(*s) : std::string_view{};
    if (t.empty() || t.size() > lim.max_term_bytes || !valid_utf8(t))
      return field_problem(at_index(field, i),
                           "must be a non-blank string of at most "
                             + std::to_string(lim.max_term_bytes) + " bytes");
    out.emplace_back(t);
  }
  return out;
}

outcome<guardrail_rule> parse_rule(const json& item, const std::string& f,
                                   const guardrail_rule_limits& lim) {
  if (!item.is_object())
    return field_problem(f, "must be an object");
  for (const auto& [key, value] : item.items())
    if (key != "name" && key != "detector" && key != "pattern" && key != "terms"
        && key != "action" && key != "applies_to")
      return field_problem(f + "." + echo(key), "unknown field");
  auto text = [&](const char* key) -> outcome<std::string> {
    auto it = item.find(key);
    if (it == item.end() || it->is_null())
      return field_problem(f + "." + key, "is required");
    if (!it->is_string())
      return field_problem(f + "." + key, "must be a string");
    return it->get<std::string>();
  };
  auto present = [&](const char* key) {
    auto it = item.find(key);
    return it != item.end() && !it->is_null();
  };

  guardrail_rule rule;
  auto name = text("name");
  if (!name)
    return name.error();
  if (!valid_rule_name(name.value()))
    return field_problem(f + ".name",
                         "must be 1 to 64 characters of letters, digits, "
                         "'_', '-' and '.'");
  rule.name = std::move(name.value());

  auto detector = text("detector");
  if (!detector)
    return detector.error();
  auto d = enum_of(all_detectors, detector.value());
  if (!d)
    return field_problem(f + ".detector", one_of(all_detectors));
  rule.detector = *d;

  auto action = text("action");
  if (!action)
    return action.error();
  auto a = enum_of(all_actions, action.value());
  if (!a)
    return field_problem(f + ".action", one_of(all_actions));
  rule.action = *a;

  if (present("applies_to")) {
    auto scope = text("applies_to");
    if (!scope)
      return scope.error();
    auto s = enum_of(all_scopes, scope.value());
    if (!s)
      return field_problem(f + ".applies_to", one_of(all_scopes));
    rule.applies_to = *s;
  }

  bool is_regex = rule.detector == guardrail_detector::regex;
  bool is_terms = rule.detector == guardrail_detector::terms;
  if (present("pattern") && !is_regex)
    return field_problem(f + ".pattern", "is only allowed with detector "
                                         "'regex'");
  if (present("terms") && !is_terms)
    return field_problem(f + ".terms", "is only allowed with detector "
                                       "'terms'");
  if (is_regex) {
    auto pattern = text("pattern");
    if (!pattern)
      return pattern.error();
    rule.pattern = std::move(pattern.value());
    auto re = compile_rule_re(rule, lim, f + ".pattern");
    if (!re)
      return re.error();
  }
  if (is_terms) {
    if (!present("terms"))
      return field_problem(f + ".terms", "is required");
    auto terms = parse_terms(item.at("terms"), f + ".terms", lim);
    if (!terms)
      return terms.error();
    rule.terms = std::move(terms.value());
    auto re = compile_rule_re(rule, lim, f + ".terms");
    if (!re)
      return re.error();
  }
  return rule;
}

const guardrail_rule* find_rule(const guardrail_rules& rules,
                                std::string_view name) {
  for (const auto& r : rules)
    if (r.name == name)
      return &r;
  return nullptr;
}

} // namespace

std::string_view to_string(guardrail_detector d) {
  switch (d) {
  case guardrail_detector::email:
    return "email";
  case guardrail_detector::phone:
    return "phone";
  case guardrail_detector::payment_card:
    return "payment_card";
  case guardrail_detector::iban:
    return "iban";
  case guardrail_detector::us_ssn:
    return "us_ssn";
  case guardrail_detector::ip_address:
    return "ip_address";
  case guardrail_detector::secret:
    return "secret";
  case guardrail_detector::regex:
    return "regex";
  case guardrail_detector::terms:
    return "terms";
  }
  return "regex";
}

std::string_view to_string(guardrail_action a) {
  switch (a) {
  case guardrail_action::flag:
    return "flag";
  case guardrail_action::redact:
    return "redact";
  case guardrail_action::block:
    return "block";
  }
  return "flag";
}

std::string_view to_string(guardrail_scope s) {
  switch (s) {
  case guardrail_scope::request:
    return "request";
  case guardrail_scope::response:
    return "response";
  case guardrail_scope::both:
    return "both";
  }
  return "request";
}

bool is_pii_detector(guardrail_detector d) {
  return d != guardrail_detector::secret && d != guardrail_detector::regex
         && d != guardrail_detector::terms;
}

outcome<guardrail_rules>
parse_guardrail_rules(const nlohmann::json& rules, std::string_view field,
                      const guardrail_rule_limits& limits) {
  try {
    std::string f{field};
    if (!rules.is_array())
      return field_problem(f, "must be an array");
    if (rules.size() > limits.max_rules)
      return field_problem(f, "must have at most "
                                + std::to_string(limits.max_rules) + " rules");
    guardrail_rules out;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      auto item = at_index(f, i);
      auto rule = parse_rule(rules[i], item, limits);
      if (!rule)
        return rule.error();
      if (find_rule(out, rule->name))
        return field_problem(item + ".name",
                             "duplicates the rule '" + rule->name + "'");
      out.push_back(std::move(rule.value()));
    }
    return out;
  } catch (const std::exception& e) {
    return make_problem(errc::internal_error,
                        std::string{"guardrail rules: "} + e.what());
  }
}

nlohmann::json to_json(const guardrail_rules& rules) {
  json out = json::array();
  for (const auto& r : rules) {
    json j = {{"name", r.name},
              {"detector", to_string(r.detector)},
              {"action", to_string(r.action)},
              {"applies_to", to_string(r.applies_to)}};
    if (r.detector == guardrail_detector::regex)
      j["pattern"] = r.pattern;
    if (r.detector == guardrail_detector::terms)
      j["terms"] = r.terms;
    out.push_back(std::move(j));
  }
  return out;
}

guardrail_rules merge_guardrail_rules(const guardrail_rules& upper,
                                      const guardrail_rules& lower) {
  guardrail_rules out = upper;
  for (const auto& r : lower) {
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const auto& u) { return u.name == r.name; });
    if (it == out.end()) {
      out.push_back(r);
      continue;
    }
    it->action = std::max(it->action, r.action);
    it->applies_to = scope_union(it->applies_to, r.applies_to);
  }
  return out;
}

guardrail_rules effective_guardrail_rules(const guardrail_rules& org,
                                          const guardrail_rules& app,
                                          const guardrail_rules& key) {
  return merge_guardrail_rules(merge_guardrail_rules(org, app), key);
}

std::optional<problem> loosening_problem(const guardrail_rules& upper,
                                         const guardrail_rules& lower,
                                         std::string_view field) {
  for (std::size_t i = 0; i < lower.size(); ++i) {
    const auto& r = lower[i];
    const auto* u = find_rule(upper, r.name);
    if (!u)
      continue;
    auto f = at_index(field, i);
    auto inherited = "rule '" + r.name + "' is inherited";
    if (u->detector != r.detector || u->pattern != r.pattern
        || u->terms != r.terms)
      return field_problem(f + ".detector",
                           inherited + " and cannot be redefined");
    if (r.action < u->action)
      return field_problem(f + ".action", inherited + " with action '"
                                            + std::string{to_string(u->action)}
                                            + "' and cannot be loosened");
    if (u->applies_to == guardrail_scope::both
        && r.applies_to != guardrail_scope::both)
      return field_problem(f + ".applies_to",
                           inherited
                             + " for both directions and cannot "
                               "be narrowed");
  }
  return std::nullopt;
}

outcome<compiled_guardrails>
compiled_guardrails::compile(const guardrail_rules& rules,
                             const guardrail_rule_limits& limits) {
  try {
    compiled_guardrails out;
    out.entries_.reserve(rules.size());
    for (std::size_t i = 0; i < rules.size(); ++i) {
      entry e{rules[i], nullptr};
      if (!builtin_kind(e.rule.detector)) {
        bool terms = e.rule.detector == guardrail_detector::terms;
        auto f = at_index("guardrails", i) + (terms ? ".terms" : ".pattern");
        auto re = compile_rule_re(e.rule, limits, f);
        if (!re)
          return re.error();
        e.re = std::move(re.value());
      }
      out.entries_.push_back(std::move(e));
    }
    return out;
  } catch (const std::exception& e) {
    return make_problem(errc::internal_error,
                        std::string{"guardrail rules: "} + e.what());
  }
}

bool compiled_guardrails::applies(guardrail_direction dir) const noexcept {
  return std::any_of(entries_.begin(), entries_.end(), [&](const entry& e) {
    return covers(e.rule.applies_to, dir);
  });
}

std::size_t compiled_guardrails::regex_weight() const noexcept {
  std::size_t sum = 0;
  for (const auto& e : entries_)
    if (e.rule.detector == guardrail_detector::regex && e.re)
      sum += static_cast<std::size_t>(e.re->ProgramSize());
  return sum;
}

std::string guardrail_placeholder(const guardrail_rule& rule) {
  if (!builtin_kind(rule.detector))
    return "[REDACTED:" + rule.name + "]";
  std::string name{to_string(rule.detector)};
  for (auto& c : name)
    c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return "[REDACTED_" + name + "]";
}

nlohmann::json to_json(const std::vector<guardrail_hit>& hits) {
  json out = json::array();
  for (const auto& h : hits)
    out.push_back(
      {{"rule", h.rule}, {"action", to_string(h.action)}, {"count", h.count}});
  return out;
}

} // namespace gatehouse::policy
