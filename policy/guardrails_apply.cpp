// Applying compiled guardrails to a text and to chat bodies (declared in
// policy/guardrails.hpp).

#include "policy/guardrails.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>
#include <re2/re2.h>

#include "policy/json_parse.hpp"

namespace gatehouse::policy {

namespace {

using ojson = nlohmann::ordered_json;

bool covers(guardrail_scope s, guardrail_direction d) {
  return s == guardrail_scope::both
         || (s == guardrail_scope::request && d == guardrail_direction::request)
         || (s == guardrail_scope::response
             && d == guardrail_direction::response);
}

static_assert(static_cast<int>(guardrail_detector::email)
              == static_cast<int>(pii_kind::email));
static_assert(static_cast<int>(guardrail_detector::secret)
              == static_cast<int>(pii_kind::secret));
static_assert(static_cast<int>(guardrail_detector::secret) + 1
              == static_cast<int>(pii_kind_count));

// The built-in detectors are spelled in the same order in both enums.
std::optional<pii_kind> builtin_kind(guardrail_detector d) {
  if (d == guardrail_detector::regex || d == guardrail_detector::terms)
    return std::nullopt;
  return static_cast<pii_kind>(static_cast<int>(d));
}

// The length of the UTF-8 sequence starting with byte `c` (1 for a stray
// continuation byte, so a scan always advances).
std::size_t utf8_len(unsigned char c) {
  if (c >= 0xf0)
    return 4;
  if (c >= 0xe0)
    return 3;
  if (c >= 0xc0)
    return 2;
  return 1;
}

// True if the character at `text[i]` is part of a word: a letter, a digit,
// a combining mark or '_'.
bool word_char_at(std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80)
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
           || (c >= 'A' && c <= 'Z') || c == '_';
  static const RE2 word{R"([\pL\pN\pM])"};
  std::size_t len = utf8_len(c);
  if (i + len > text.size())
    return false;
  return RE2::FullMatch(re2::StringPiece{text.data() + i, len}, word);
}

// True if the character before `begin` is part of a word.
bool word_char_before(std::string_view text, std::size_t begin) {
  if (begin == 0)
    return false;
  std::size_t i = begin - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xc0) == 0x80
         && begin - i < 4)
    --i;
  return word_char_at(text, i);
}

// Appends the matches of a regex or terms rule, left to right, resuming
// after each one. An empty match (`\b`, `^`) is skipped by one character.
// A term must stand as a whole word; an occurrence inside a word is
// skipped by one character, so one starting within it is still found.
void find_custom(const compiled_guardrails::entry& e, std::string_view text,
                 std::vector<text_span>& out) {
  bool terms = e.rule.detector == guardrail_detector::terms;
  re2::StringPiece whole{text.data(), text.size()};
  std::size_t pos = 0;
  while (pos <= text.size()) {
    re2::StringPiece m;
    if (!e.re->Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1))
      return;
    auto begin = static_cast<std::size_t>(m.data() - text.data());
    auto end = begin + m.size();
    bool whole_word = !terms
                      || (!word_char_before(text, begin)
                          && (end == text.size() || !word_char_at(text, end)));
    if (end == begin || !whole_word) {
      if (begin >= text.size())
        return;
      pos = begin + utf8_len(static_cast<unsigned char>(text[begin]));
      continue;
    }
    out.push_back({begin, end});
    pos = end;
  }
}

// Applies rules to one text after another (the strings of a body),
// counting per rule across all of them.
class scanner {
public:
  scanner(const compiled_guardrails& rules, guardrail_direction dir,
          const guardrail_scan_limits& limits)
    : rules_(rules), dir_(dir), limits_(limits),
      counts_(rules.entries().size(), 0) {}

  /// Scans `text`; when some match is to be redacted, writes the new text
  /// to `out` and returns true. A limit exceeded is kept in `fault()`.
  bool scan(std::string_view text, std::string& out) {
    if (fault_ || text.empty())
      return false;
    std::array<std::optional<std::vector<text_span>>, pii_kind_count> pii;
    std::vector<std::pair<text_span, std::size_t>> redactions;
    std::vector<text_span> custom;
    const auto& entries = rules_.entries();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const auto& e = entries[i];
      if (!covers(e.rule.applies_to, dir_))
        continue;
      const std::vector<text_span>* spans = &custom;
      if (auto kind = builtin_kind(e.rule.detector)) {
        auto& cached = pii[static_cast<std::size_t>(*kind)];
        if (!cached) {
          cached.emplace();
          find_pii(*kind, text, *cached);
        }
        spans = &*cached;
      } else {
        if (e.rule.detector == guardrail_detector::regex) {
          work_ += static_cast<std::size_t>(e.re->ProgramSize()) * text.size();
          if (work_ > limits_.max_regex_work) {
            fault_ = make_problem(errc::payload_too_large,
                                  "guardrails: text too large for the "
                                  "configured patterns");
            return false;
          }
        }
        custom.clear();
        find_custom(e, text, custom);
      }
      counts_[i] += spans->size();
      matches_ += spans->size();
      if (matches_ > limits_.max_matches) {
        fault_
          = make_problem(errc::invalid_request,
                         "guardrails: more than "
                           + std::to_string(limits_.max_matches) + " matches");
        return false;
      }
      if (e.rule.action == guardrail_action::redact)
        for (auto s : *spans)
          redactions.emplace_back(s, i);
    }
    if (redactions.empty())
      return false;
    redact(text, redactions, out);
    return true;
  }

  const std::optional<problem>& fault() const {
    return fault_;
  }

  /// The first matching `block` rule, if any.
  const guardrail_rule* blocked_by() const {
    const auto& entries = rules_.entries();
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (counts_[i] > 0 && entries[i].rule.action == guardrail_action::block)
        return &entries[i].rule;
    return nullptr;
  }

  std::vector<guardrail_hit> hits() const {
    std::vector<guardrail_hit> out;
    const auto& entries = rules_.entries();
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (counts_[i] > 0)
        out.push_back(
          {entries[i].rule.name, entries[i].rule.action, counts_[i]});
    return out;
  }

private:
  // Sorted by start, longer first, then by rule; overlapping matches merge
  // into one region under the first one's placeholder.
  void redact(std::string_view text,
              std::vector<std::pair<text_span, std::size_t>>& rs,
              std::string& out) const {
    std::sort(rs.begin(), rs.end(), [](const auto& a, const auto& b) {
      if (a.first.begin != b.first.begin)
        return a.first.begin < b.first.begin;
      if (a.first.end != b.first.end)
        return a.first.end > b.first.end;
      return a.second < b.second;
    });
    out.clear();
    out.reserve(text.size() + 16 * rs.size());
    std::size_t copied = 0;
    std::size_t k = 0;
    while (k < rs.size()) {
      auto region = rs[k].first;
      const auto& rule = rules_.entries()[rs[k].second].rule;
      for (++k; k < rs.size() && rs[k].first.begin < region.end; ++k)
        region.end = std::max(region.end, rs[k].first.end);
      out.append(text.substr(copied, region.begin - copied));
      out += guardrail_placeholder(rule);
      copied = region.end;
    }
    out.append(text.substr(copied));
  }

  const compiled_guardrails& rules_;
  guardrail_direction dir_;
  guardrail_scan_limits limits_;
  std::vector<std::size_t> counts_;
  std::size_t matches_ = 0;
  std::size_t work_ = 0;
  std::optional<problem> fault_;
};

problem too_large(const guardrail_scan_limits& limits) {
  return make_problem(errc::payload_too_large,
                      "guardrails: text larger than "
                        + std::to_string(limits.max_bytes) + " bytes");
}

// Walks the text-bearing members of a body, calling `s.scan` on each
// string and replacing it when redacted.
class body_walker {
public:
  explicit body_walker(scanner& s) : s_(s) {}

  bool changed() const {
    return changed_;
  }

  void text(ojson& v) {
    if (!v.is_string())
      return;
    if (s_.scan(v.get_ref<const std::string&>(), buf_)) {
      v = std::move(buf_);
      buf_.clear();
      changed_ = true;
    }
  }

  // A string, or an array of strings and of parts with `text` and nested
  // `content` (tool results).
  void content(ojson& v, int depth = 0) {
    if (v.is_string()) {
      text(v);
      return;
    }
    if (!v.is_array() || depth > 4)
      return;
    for (auto& item : v) {
      if (item.is_string()) {
        text(item);
      } else if (item.is_object()) {
        member_text(item, "text");
        if (auto it = item.find("content"); it != item.end())
          content(*it, depth + 1);
      }
    }
  }

  void member_text(ojson& obj, const char* key) {
    if (auto it = obj.find(key); it != obj.end())
      text(*it);
  }

  void member_content(ojson& obj, const char* key) {
    if (auto it = obj.find(key); it != obj.end())
      content(*it);
  }

  // Calls `f(item)` for each object of the array member `key`.
  template <class F>
  void each_object(ojson& obj, const char* key, F&& f) {
    auto it = obj.find(key);
    if (it == obj.end() || !it->is_array())
      return;
    for (auto& item : *it)
      if (item.is_object())
        f(item);
  }

private:
  scanner& s_;
  std::string buf_;
  bool changed_ = false;
};

template <class Walk>
outcome<guardrail_body_result>
apply_to_body(const compiled_guardrails& rules, std::string_view body,
              guardrail_direction dir, const guardrail_scan_limits& limits,
              Walk&& walk) {
  try {
    guardrail_body_result result;
    if (!rules.applies(dir))
      return result;
    if (body.size() > limits.max_bytes)
      return too_large(limits);
    ojson doc;
    auto fault = parse_json(body, default_json_depth, doc);
    if (fault != json_fault::none)
      return make_problem(errc::invalid_request,
                          std::string{"body "} + describe(fault));
    if (!doc.is_object())
      return make_problem(errc::invalid_request, "body must be a JSON object");
    scanner s{rules, dir, limits};
    body_walker w{s};
    walk(doc, w);
    if (s.fault())
      return *s.fault();
    result.hits = s.hits();
    if (const auto* rule = s.blocked_by()) {
      result.blocked = true;
      result.blocked_by = rule->name;
    } else if (w.changed()) {
      result.body = doc.dump(-1, ' ', false, ojson::error_handler_t::replace);
    }
    return result;
  } catch (const std::exception& e) {
    return make_problem(errc::internal_error,
                        std::string{"guardrails: "} + e.what());
  }
}

} // namespace

outcome<guardrail_text_result>
apply_guardrails(const compiled_guardrails& rules, std::string_view text,
                 guardrail_direction dir, const guardrail_scan_limits& limits) {
  try {
    if (text.size() > limits.max_bytes)
      return too_large(limits);
    guardrail_text_result result;
    scanner s{rules, dir, limits};
    result.redacted = s.scan(text, result.text);
    if (s.fault())
      return *s.fault();
    if (!result.redacted)
      result.text = std::string{text};
    result.hits = s.hits();
    if (const auto* rule = s.blocked_by()) {
      result.blocked = true;
      result.blocked_by = rule->name;
    }
    return result;
  } catch (const std::exception& e) {
    return make_problem(errc::internal_error,
                        std::string{"guardrails: "} + e.what());
  }
}

outcome<guardrail_body_result>
apply_guardrails_to_request(const compiled_guardrails& rules,
                            std::string_view body,
                            const guardrail_scan_limits& limits) {
  return apply_to_body(rules, body, guardrail_direction::request, limits,
                       [](ojson& doc, body_walker& w) {
                         w.each_object(doc, "messages", [&](ojson& m) {
                           w.member_content(m, "content");
                         });
                         w.member_content(doc, "system");
                         w.member_text(doc, "instructions");
                         w.member_content(doc, "prompt");
                         w.member_content(doc, "input");
                       });
}

outcome<guardrail_body_result>
apply_guardrails_to_response(const compiled_guardrails& rules,
                             std::string_view body,
                             const guardrail_scan_limits& limits) {
  return apply_to_body(
    rules, body, guardrail_direction::response, limits,
    [](ojson& doc, body_walker& w) {
      w.each_object(doc, "choices", [&](ojson& c) {
        if (auto it = c.find("message"); it != c.end() && it->is_object())
          w.member_content(*it, "content");
        w.member_text(c, "text");
      });
      w.member_content(doc, "content");
      w.each_object(doc, "output",
                    [&](ojson& o) { w.member_content(o, "content"); });
    });
}

} // namespace gatehouse::policy
