#include "policy/pii_detect.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>

#include <re2/re2.h>

namespace gatehouse::policy {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

bool is_word(char c) {
  return is_digit(c) || is_upper(c) || is_lower(c) || c == '_';
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The fixed expressions are compiled once, on first use, and shared by all
// threads (RE2 objects are safe to use concurrently).
RE2::Options fixed_options() {
  RE2::Options opt;
  opt.set_log_errors(false);
  opt.set_never_capture(true);
  return opt;
}

const RE2& email_re() {
  static const RE2 re{R"([A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9\-]+\.)+)"
                      R"([A-Za-z]{2,63}\b)",
                      fixed_options()};
  return re;
}

const RE2& phone_re() {
  // International, grouped national, or an area code in parentheses: a
  // lone run of digits is not even a candidate.
  static const RE2 re{
    R"(\+\d{1,3}[ .\-]?(?:\(\d{1,5}\)[ .\-]?)?\d{1,15}(?:[ .\-]\d{1,15}){0,6})"
    R"(|(?:\(\d{1,5}\)[ .\-]?)?\d{1,15}(?:[ .\-]\d{1,15}){1,6})"
    R"(|\(\d{1,5}\)[ .\-]?\d{1,15})",
    fixed_options()};
  return re;
}

const RE2& card_re() {
  static const RE2 re{R"(\b\d(?:[ \-]?\d){12,18}\b)", fixed_options()};
  return re;
}

const RE2& iban_re() {
  static const RE2 re{R"(\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7})"
                      R"((?: ?[A-Z0-9]{1,3})?\b)",
                      fixed_options()};
  return re;
}

const RE2& ssn_re() {
  static const RE2 re{R"(\b(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4})\b)",
                      fixed_options()};
  return re;
}

const RE2& ipv4_re() {
  static const RE2 re{R"(\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3})"
                      R"((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b)",
                      fixed_options()};
  return re;
}

const RE2& secret_re() {
  static const RE2 re{
    R"(\b(?:sk-ant-[A-Za-z0-9_\-]{20,}|sk-[A-Za-z0-9_\-]{20,})"
    R"(|(?:AKIA|ASIA)[0-9A-Z]{16}\b|gh[pousr]_[A-Za-z0-9]{36,})"
    R"(|github_pat_[A-Za-z0-9_]{22,}|xox[baprs]-[A-Za-z0-9\-]{10,})"
    R"(|AIza[0-9A-Za-z_\-]{35})"
    R"(|eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}))"
    R"(|-----BEGIN[A-Z ]{0,40}PRIVATE KEY-----)"
    R"((?:[A-Za-z0-9+/=\s:\-,]*-----END[A-Z ]{0,40}PRIVATE KEY-----)?)",
    fixed_options()};
  return re;
}

// Calls `accept(span)` for every match of `re` in `text`, left to right;
// the search resumes after each match, so the scan is linear.
template <class Accept>
void each_match(const RE2& re, std::string_view text, Accept&& accept) {
  re2::StringPiece whole{text.data(), text.size()};
  std::size_t pos = 0;
  while (pos < text.size()) {
    re2::StringPiece m;
    if (!re.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1))
      return;
    auto begin = static_cast<std::size_t>(m.data() - text.data());
    auto end = begin + m.size();
    if (end == begin) { // fixed expressions never match empty; be safe
      pos = begin + 1;
      continue;
    }
    accept(text_span{begin, end});
    pos = end;
  }
}

std::size_t count_digits(std::string_view s) {
  std::size_t n = 0;
  for (char c : s)
    n += is_digit(c) ? 1 : 0;
  return n;
}

char at(std::string_view text, std::size_t i) {
  return i < text.size() ? text[i] : '\0';
}

// A dotted number right before or after the span (a version, an OID).
bool dotted_neighbour(std::string_view text, text_span s) {
  bool before
    = s.begin >= 2 && text[s.begin - 1] == '.' && is_digit(text[s.begin - 2]);
  bool after = at(text, s.end) == '.' && is_digit(at(text, s.end + 1));
  return before || after;
}

// Digits and dots only, with a group of one digit or four groups of at
// most three: a version number or an IPv4 address rather than a phone
// number written with dots (415.555.2671, 01.23.45.67.89).
bool looks_dotted_number(std::string_view s) {
  int groups = 0;
  int run = 0;
  int longest = 0;
  bool single = false;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      ++groups;
      single = single || run == 1;
      longest = std::max(longest, run);
      run = 0;
    } else if (is_digit(s[i])) {
      ++run;
    } else {
      return false;
    }
  }
  return single || (groups == 4 && longest <= 3);
}

bool phone_valid(std::string_view text, text_span s) {
  auto cand = text.substr(s.begin, s.end - s.begin);
  if (s.begin > 0) {
    char p = text[s.begin - 1];
    if (is_word(p) || p == '+' || p == '.' || p == '-')
      return false;
  }
  char n = at(text, s.end);
  if (is_word(n) || ((n == '.' || n == '-') && is_digit(at(text, s.end + 1))))
    return false;
  std::size_t digits = count_digits(cand);
  if (cand.front() == '+')
    return digits >= 8 && digits <= 15;
  if (digits < 10 || digits > 11)
    return false;
  if (cand.size() == digits) // no separator, no parentheses
    return false;
  return !looks_dotted_number(cand);
}

bool all_same_digit(std::string_view s) {
  char first = '\0';
  for (char c : s) {
    if (!is_digit(c))
      continue;
    if (first == '\0')
      first = c;
    else if (c != first)
      return false;
  }
  return true;
}

// "DE89 " right before a run of digits: the tail of an IBAN, not a card.
bool after_iban_head(std::string_view text, std::size_t begin) {
  if (begin < 5 || text[begin - 1] != ' ')
    return false;
  auto h = text.substr(begin - 5, 4);
  return is_upper(h[0]) && is_upper(h[1]) && is_digit(h[2]) && is_digit(h[3]);
}

bool card_valid(std::string_view text, text_span s) {
  auto cand = text.substr(s.begin, s.end - s.begin);
  if (s.begin > 0 && (text[s.begin - 1] == '+' || text[s.begin - 1] == '-'))
    return false;
  if (at(text, s.end) == '-' && is_digit(at(text, s.end + 1)))
    return false;
  return !all_same_digit(cand) && !after_iban_head(text, s.begin)
         && luhn_valid(cand);
}

// The longest IBAN at the start of the candidate: the whole of it, or the
// whole of it less trailing groups (the candidate may run into a word).
std::size_t iban_length(std::string_view cand) {
  std::size_t len = cand.size();
  while (len >= 15) {
    if (iban_valid(cand.substr(0, len)))
      return len;
    auto space = cand.rfind(' ', len - 1);
    if (space != std::string_view::npos && space >= 4)
      len = space;
    else if (len > 8 && cand.find(' ') == std::string_view::npos)
      len -= 1; // an unspaced IBAN: try each shorter length
    else
      return 0;
  }
  return 0;
}

void find_ipv6(std::string_view text, std::vector<text_span>& out) {
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (!is_hex(c) && c != ':') {
      ++i;
      continue;
    }
    std::size_t begin = i;
    std::size_t colons = 0;
    bool digit = false;
    while (i < text.size()
           && (is_hex(text[i]) || text[i] == ':' || text[i] == '.')) {
      colons += text[i] == ':' ? 1 : 0;
      digit = digit || is_digit(text[i]);
      ++i;
    }
    std::size_t end = i;
    while (end > begin && text[end - 1] == '.')
      --end;
    if (end - begin >= 2 && text[end - 1] == ':' && text[end - 2] != ':')
      --end;
    bool bounded
      = (begin == 0 || !is_word(text[begin - 1])) && !is_word(at(text, i));
    if (colons < 2 || !digit || !bounded || end - begin > 45)
      continue;
    char buf[46];
    std::memcpy(buf, text.data() + begin, end - begin);
    buf[end - begin] = '\0';
    unsigned char addr[16];
    if (inet_pton(AF_INET6, buf, addr) == 1)
      out.push_back({begin, end});
  }
}

void find_ip(std::string_view text, std::vector<text_span>& out) {
  std::vector<text_span> v4;
  each_match(ipv4_re(), text, [&](text_span s) {
    if (!dotted_neighbour(text, s))
      v4.push_back(s);
  });
  std::vector<text_span> v6;
  find_ipv6(text, v6);
  // Merge in text order; an IPv4 tail of an IPv6 address (::ffff:1.2.3.4)
  // belongs to the IPv6 span.
  std::size_t a = 0;
  std::size_t b = 0;
  std::size_t last_end = 0;
  while (a < v4.size() || b < v6.size()) {
    bool take_v6
      = a == v4.size() || (b < v6.size() && v6[b].begin <= v4[a].begin);
    text_span s = take_v6 ? v6[b++] : v4[a++];
    if (s.begin < last_end)
      continue;
    out.push_back(s);
    last_end = s.end;
  }
}

bool token_char(char c) {
  return is_word(c) || c == '+' || c == '=' || c == '-';
}

void find_secrets(std::string_view text, std::vector<text_span>& found) {
  std::vector<text_span> out;
  std::vector<text_span> known;
  each_match(secret_re(), text, [&](text_span s) { known.push_back(s); });
  std::size_t k = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (!token_char(text[i])) {
      ++i;
      continue;
    }
    std::size_t begin = i;
    while (i < text.size() && token_char(text[i]))
      ++i;
    text_span run{begin, i};
    // Known formats first, in order; a token run overlapping one of them
    // is already covered.
    while (k < known.size() && known[k].begin < run.end) {
      if (out.empty() || known[k].begin >= out.back().end)
        out.push_back(known[k]);
      ++k;
    }
    bool covered = !out.empty() && out.back().end > run.begin;
    if (!covered
        && is_high_entropy_token(text.substr(run.begin, run.end - run.begin)))
      out.push_back(run);
  }
  for (; k < known.size(); ++k)
    if (out.empty() || known[k].begin >= out.back().end)
      out.push_back(known[k]);
  found.insert(found.end(), out.begin(), out.end());
}

struct iban_country {
  char code[3];
  int length;
};

constexpr iban_country iban_countries[] = {
  {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20},
  {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21},
  {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DK", 18}, {"DO", 28},
  {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
  {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28},
  {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26},
  {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32},
  {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
  {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18},
  {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29},
  {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31}, {"SE", 24}, {"SI", 19},
  {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
  {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

int iban_length_of(char a, char b) {
  for (const auto& c : iban_countries)
    if (c.code[0] == a && c.code[1] == b)
      return c.length;
  return 0;
}

} // namespace

bool luhn_valid(std::string_view s) {
  int sum = 0;
  int n = 0;
  for (auto it = s.rbegin(); it != s.rend(); ++it) {
    if (!is_digit(*it))
      continue;
    int d = *it - '0';
    if (n++ % 2 == 1) {
      d *= 2;
      if (d > 9)
        d -= 9;
    }
    sum += d;
  }
  return n > 0 && sum % 10 == 0;
}

bool iban_valid(std::string_view s) {
  std::string compact;
  compact.reserve(s.size());
  for (char c : s) {
    if (c == ' ')
      continue;
    if (!is_upper(c) && !is_digit(c))
      return false;
    compact.push_back(c);
  }
  if (compact.size() < 15 || !is_upper(compact[0]) || !is_upper(compact[1])
      || !is_digit(compact[2]) || !is_digit(compact[3]))
    return false;
  int expected = iban_length_of(compact[0], compact[1]);
  if (expected == 0 || static_cast<int>(compact.size()) != expected)
    return false;
  // Move the first four characters to the end, letters as 10..35, and take
  // the number mod 97 digit by digit.
  std::string rotated = compact.substr(4) + compact.substr(0, 4);
  int rem = 0;
  for (char c : rotated) {
    if (is_digit(c)) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    }
  }
  return rem == 1;
}

bool us_ssn_valid(std::string_view s) {
  std::array<int, 9> d{};
  std::size_t n = 0;
  for (char c : s) {
    if (is_digit(c)) {
      if (n == 9)
        return false;
      d[n++] = c - '0';
    }
  }
  if (n != 9)
    return false;
  int area = d[0] * 100 + d[1] * 10 + d[2];
  int group = d[3] * 10 + d[4];
  int serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
  return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0;
}

bool is_high_entropy_token(std::string_view token) {
  if (token.size() < 32)
    return false;
  std::array<std::size_t, 256> freq{};
  bool upper = false;
  bool lower = false;
  std::size_t digits = 0;
  for (char c : token) {
    if (!token_char(c))
      return false;
    upper = upper || is_upper(c);
    lower = lower || is_lower(c);
    digits += is_digit(c) ? 1 : 0;
    ++freq[static_cast<unsigned char>(c)];
  }
  if (!upper || !lower || digits < 2)
    return false;
  double entropy = 0;
  auto len = static_cast<double>(token.size());
  for (std::size_t f : freq) {
    if (f == 0)
      continue;
    double p = static_cast<double>(f) / len;
    entropy -= p * std::log2(p);
  }
  return entropy >= 4.2;
}

void find_pii(pii_kind kind, std::string_view text,
              std::vector<text_span>& out) {
  switch (kind) {
  case pii_kind::email:
    each_match(email_re(), text, [&](text_span s) {
      while (s.begin < s.end && text[s.begin] == '.')
        ++s.begin;
      out.push_back(s);
    });
    return;
  case pii_kind::phone:
    each_match(phone_re(), text, [&](text_span s) {
      if (phone_valid(text, s))
        out.push_back(s);
    });
    return;
  case pii_kind::payment_card:
    each_match(card_re(), text, [&](text_span s) {
      if (card_valid(text, s))
        out.push_back(s);
    });
    return;
  case pii_kind::iban:
    each_match(iban_re(), text, [&](text_span s) {
      auto len = iban_length(text.substr(s.begin, s.end - s.begin));
      if (len > 0)
        out.push_back({s.begin, s.begin + len});
    });
    return;
  case pii_kind::us_ssn:
    each_match(ssn_re(), text, [&](text_span s) {
      bool joined
        = (s.begin > 0 && text[s.begin - 1] == '-') || at(text, s.end) == '-';
      if (!joined && us_ssn_valid(text.substr(s.begin, s.end - s.begin)))
        out.push_back(s);
    });
    return;
  case pii_kind::ip_address:
    find_ip(text, out);
    return;
  case pii_kind::secret:
    find_secrets(text, out);
    return;
  }
}

} // namespace gatehouse::policy
