#include "policy/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace gatehouse::policy {

namespace {

bool name_start(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
         || (colon && c == ':');
}

bool name_char(char c, bool colon) {
  return name_start(c, colon) || (c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty() || !name_start(name.front(), colon))
    return false;
  return std::all_of(name.begin() + 1, name.end(),
                     [colon](char c) { return name_char(c, colon); });
}

[[noreturn]] void fail(std::string what) {
  throw std::invalid_argument(std::move(what));
}

void check_metric_name(std::string_view name) {
  if (!is_metric_name(name))
    fail("invalid metric name '" + std::string{name} + "'");
}

// Label names beginning with "__" are reserved for Prometheus itself.
void check_labels(std::string_view metric, const labels& ls,
                  std::string_view reserved = {}) {
  for (std::size_t i = 0; i < ls.size(); ++i) {
    const auto& name = ls[i].first;
    if (!is_label_name(name) || name.compare(0, 2, "__") == 0
        || (!reserved.empty() && name == reserved))
      fail("invalid label name '" + name + "' on " + std::string{metric});
    for (std::size_t j = 0; j < i; ++j)
      if (ls[j].first == name)
        fail("repeated label '" + name + "' on " + std::string{metric});
  }
}

void escape_label_value(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void escape_help(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

// Writes `name{labels[,le="..."]} value`.
void write_sample(std::string& out, std::string_view name, const labels& ls,
                  std::string_view value, std::string_view le = {}) {
  out += name;
  if (!ls.empty() || !le.empty()) {
    out += '{';
    bool first = true;
    for (const auto& [k, v] : ls) {
      if (!first)
        out += ',';
      first = false;
      out += k;
      out += "=\"";
      escape_label_value(out, v);
      out += '"';
    }
    if (!le.empty()) {
      if (!first)
        out += ',';
      out += "le=\"";
      out += le;
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size()
         && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

} // namespace

bool is_metric_name(std::string_view name) {
  return valid_name(name, true);
}

bool is_label_name(std::string_view name) {
  return valid_name(name, false);
}

std::string format_value(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "+Inf" : "-Inf";
  if (v == 0)
    return "0"; // also for -0
  char buf[64];
  std::to_chars_result r;
  // Up to 2^64 an integral value is written out in full, so that any
  // 64-bit counter reads as a plain integer.
  if (std::trunc(v) == v && std::fabs(v) < 18446744073709551616.0)
    r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  else
    r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

void metrics_text::claim(const std::vector<std::string>& names) {
  for (const auto& n : names)
    if (names_.count(n))
      fail("metric name '" + n + "' is already used");
  names_.insert(names.begin(), names.end());
}

void metrics_text::header(std::string_view name, std::string_view help,
                          std::string_view type) {
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  escape_help(out_, help);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void metrics_text::simple(
  std::string_view name, std::string_view help, std::string_view type,
  const std::vector<std::pair<labels, double>>& samples) {
  for (const auto& s : samples)
    check_labels(name, s.first);
  claim({std::string{name}});
  header(name, help, type);
  for (const auto& [ls, v] : samples)
    write_sample(out_, name, ls, format_value(v));
}

void metrics_text::counter(
  std::string_view name, std::string_view help,
  const std::vector<std::pair<labels, double>>& samples) {
  check_metric_name(name);
  if (!ends_with(name, "_total"))
    fail("counter name '" + std::string{name} + "' must end in _total");
  simple(name, help, "counter", samples);
}

void metrics_text::gauge(
  std::string_view name, std::string_view help,
  const std::vector<std::pair<labels, double>>& samples) {
  check_metric_name(name);
  simple(name, help, "gauge", samples);
}

void metrics_text::histogram(
  std::string_view name, std::string_view help,
  const std::vector<std::pair<labels, histogram_data>>& series) {
  check_metric_name(name);
  for (const auto& [ls, h] : series) {
    check_labels(name, ls, "le");
    for (std::size_t i = 0; i < h.bounds.size(); ++i)
      if (!std::isfinite(h.bounds[i])
          || (i > 0 && !(h.bounds[i - 1] < h.bounds[i])))
        fail("bounds of " + std::string{name}
             + " must be finite and strictly ascending");
    if (h.counts.size() != h.bounds.size() + 1)
      fail("histogram " + std::string{name}
           + " needs one count per bound plus one for +Inf");
    std::uint64_t total = 0;
    for (auto c : h.counts)
      total += c;
    if (total != h.count)
      fail("bucket counts of " + std::string{name} + " do not add up to "
           + std::to_string(h.count));
  }
  std::string base{name};
  claim({base, base + "_bucket", base + "_sum", base + "_count"});
  header(name, help, "histogram");
  for (const auto& [ls, h] : series) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      auto le = i < h.bounds.size() ? format_value(h.bounds[i]) : "+Inf";
      write_sample(out_, base + "_bucket", ls, std::to_string(cumulative), le);
    }
    write_sample(out_, base + "_sum", ls, format_value(h.sum));
    write_sample(out_, base + "_count", ls, std::to_string(h.count));
  }
}

const std::vector<double>& latency_buckets_seconds() {
  static const std::vector<double> bounds{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return bounds;
}

std::size_t bucket_index(const std::vector<double>& bounds, double value) {
  if (std::isnan(value))
    return bounds.size();
  // A bucket holds values up to and including its bound.
  auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
  return static_cast<std::size_t>(it - bounds.begin());
}

} // namespace gatehouse::policy
