#include "policy/time.hpp"

#include <cstdio>

namespace gatehouse::policy {

namespace {

constexpr long long seconds_per_day = 86400;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

struct civil_date {
  long long year;
  unsigned month;
  unsigned day;
};

// Inverse of days_from_civil.
civil_date civil_from_days(long long z) {
  z += 719468;
  const long long era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const long long y = static_cast<long long>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return civil_date{y + (m <= 2), m, d};
}

bool is_leap(long long y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(long long y, unsigned m) {
  static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

long long floor_div(long long a, long long b) {
  long long q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Reads exactly `n` digits at `pos`, advancing it.
bool read_digits(std::string_view s, std::size_t& pos, std::size_t n,
                 int& out) {
  if (pos + n > s.size())
    return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9')
      return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c)
    return false;
  ++pos;
  return true;
}

} // namespace

namespace {

/// Writes `v` (0..10^width - 1) as `width` decimal digits at `out`.
void put_digits(char* out, long long v, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

} // namespace

std::string rfc3339(long long unix_s) {
  long long days = floor_div(unix_s, seconds_per_day);
  long long secs = unix_s - days * seconds_per_day;
  auto date = civil_from_days(days);
  if (date.year < 0 || date.year > 9999) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ",
                  date.year, date.month, date.day, secs / 3600,
                  (secs / 60) % 60, secs % 60);
    return buf;
  }
  // Every request log carries a time: no formatted printing for it.
  std::string out = "0000-00-00T00:00:00Z";
  put_digits(&out[0], date.year, 4);
  put_digits(&out[5], date.month, 2);
  put_digits(&out[8], date.day, 2);
  put_digits(&out[11], secs / 3600, 2);
  put_digits(&out[14], (secs / 60) % 60, 2);
  put_digits(&out[17], secs % 60, 2);
  return out;
}

std::string rfc3339_ms(long long unix_ms) {
  long long secs = floor_div(unix_ms, 1000);
  auto text = rfc3339(secs);
  text.pop_back(); // the 'Z'
  text += ".000Z";
  put_digits(&text[text.size() - 4], unix_ms - secs * 1000, 3);
  return text;
}

std::optional<long long> parse_rfc3339(std::string_view text) {
  std::size_t pos = 0;
  int year, month, day, hour, minute, second;
  if (!read_digits(text, pos, 4, year) || !expect(text, pos, '-')
      || !read_digits(text, pos, 2, month) || !expect(text, pos, '-')
      || !read_digits(text, pos, 2, day))
    return std::nullopt;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't'))
    return std::nullopt;
  ++pos;
  if (!read_digits(text, pos, 2, hour) || !expect(text, pos, ':')
      || !read_digits(text, pos, 2, minute) || !expect(text, pos, ':')
      || !read_digits(text, pos, 2, second))
    return std::nullopt;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      ++pos;
      ++digits;
    }
    if (digits == 0)
      return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1
      || static_cast<unsigned>(day)
           > days_in_month(year, static_cast<unsigned>(month))
      || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  long long offset_s = 0;
  if (pos >= text.size())
    return std::nullopt;
  char zone = text[pos++];
  if (zone == '+' || zone == '-') {
    int oh, om;
    if (!read_digits(text, pos, 2, oh) || !expect(text, pos, ':')
        || !read_digits(text, pos, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_s = (oh * 3600LL + om * 60LL) * (zone == '-' ? -1 : 1);
  } else if (zone != 'Z' && zone != 'z') {
    return std::nullopt;
  }
  if (pos != text.size())
    return std::nullopt;
  long long days = days_from_civil(year, static_cast<unsigned>(month),
                                   static_cast<unsigned>(day));
  return days * seconds_per_day + hour * 3600LL + minute * 60LL + second
         - offset_s;
}

long long utc_month_start(long long unix_s) {
  auto date = civil_from_days(floor_div(unix_s, seconds_per_day));
  return days_from_civil(date.year, date.month, 1) * seconds_per_day;
}

long long seconds_to_next_utc_month(long long unix_s) {
  auto date = civil_from_days(floor_div(unix_s, seconds_per_day));
  long long y = date.year;
  unsigned m = date.month + 1;
  if (m > 12) {
    m = 1;
    ++y;
  }
  return days_from_civil(y, m, 1) * seconds_per_day - unix_s;
}

} // namespace gatehouse::policy
