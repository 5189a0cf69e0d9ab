#pragma once

// Reading a few members out of JSON text fast, for the data plane: the
// request's model and prompt, the answer's usage, a stream event's text.
// simdjson parses (validating the whole text, several times faster than a
// DOM of nlohmann values); the readers below are written once over a small
// value interface and run on either library, so that a text simdjson
// refuses but nlohmann accepts (a byte-order mark, an integer beyond 64
// bits) reads exactly as before.
//
// Internal to policy/: include from its .cpp files only (it pulls in
// simdjson.h).

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include "policy/json_parse.hpp"

namespace gatehouse::policy::json_read {

/// A count in a float: one with no fractional part, below 9e18, when
/// `allow_integral_float` (some providers write `12.0`).
inline std::optional<long long> as_count_of_double(double v,
                                                   bool allow_integral_float) {
  if (!allow_integral_float || !std::isfinite(v) || v < 0 || v >= 9.0e18
      || std::floor(v) != v)
    return std::nullopt;
  return static_cast<long long>(v);
}

/// A value of a simdjson document (valid until the thread's next parse).
class sj_value {
public:
  explicit sj_value(simdjson::dom::element e) : e_(e) {
  }
  bool is_object() const {
    return e_.type() == simdjson::dom::element_type::OBJECT;
  }
  bool is_array() const {
    return e_.type() == simdjson::dom::element_type::ARRAY;
  }
  bool is_string() const {
    return e_.type() == simdjson::dom::element_type::STRING;
  }
  bool is_true() const {
    return e_.type() == simdjson::dom::element_type::BOOL
           && e_.get_bool().value_unsafe();
  }
  std::string_view str() const {
    return e_.get_string().value_unsafe();
  }
  /// The member `key` of an object; the last one when it repeats, as
  /// nlohmann (and most readers upstream) keep the last.
  std::optional<sj_value> member(std::string_view key) const {
    if (!is_object())
      return std::nullopt;
    std::optional<sj_value> found;
    simdjson::dom::object object = e_.get_object().value_unsafe();
    for (auto field : object)
      if (field.key == key)
        found = sj_value{field.value};
    return found;
  }
  /// Calls `f(value)` for every item of an array.
  template <class F>
  void each(F&& f) const {
    if (!is_array())
      return;
    simdjson::dom::array array = e_.get_array().value_unsafe();
    for (auto item : array)
      f(sj_value{item});
  }
  std::optional<long long> count(bool allow_integral_float) const {
    using type = simdjson::dom::element_type;
    switch (e_.type()) {
      case type::INT64: {
        auto v = e_.get_int64().value_unsafe();
        return v < 0 ? std::nullopt : std::optional<long long>{v};
      }
      case type::UINT64: // only values above INT64_MAX
        return std::nullopt;
      case type::DOUBLE:
        return as_count_of_double(e_.get_double().value_unsafe(),
                                  allow_integral_float);
      default:
        return std::nullopt;
    }
  }

private:
  simdjson::dom::element e_;
};

/// A value of an nlohmann document.
class nl_value {
public:
  explicit nl_value(const nlohmann::json& j) : j_(&j) {
  }
  bool is_object() const {
    return j_->is_object();
  }
  bool is_array() const {
    return j_->is_array();
  }
  bool is_string() const {
    return j_->is_string();
  }
  bool is_true() const {
    return j_->is_boolean() && j_->get<bool>();
  }
  std::string_view str() const {
    return j_->get_ref<const std::string&>();
  }
  std::optional<nl_value> member(std::string_view key) const {
    if (!j_->is_object())
      return std::nullopt;
    auto it = j_->find(key);
    if (it == j_->end())
      return std::nullopt;
    return nl_value{*it};
  }
  template <class F>
  void each(F&& f) const {
    if (!j_->is_array())
      return;
    for (const auto& item : *j_)
      f(nl_value{item});
  }
  std::optional<long long> count(bool allow_integral_float) const {
    if (j_->is_number_unsigned()) {
      auto v = j_->get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<long long>::max()))
        return std::nullopt;
      return static_cast<long long>(v);
    }
    if (j_->is_number_integer()) {
      auto v = j_->get<std::int64_t>();
      return v < 0 ? std::nullopt : std::optional<long long>{v};
    }
    if (j_->is_number_float())
      return as_count_of_double(j_->get<double>(), allow_integral_float);
    return std::nullopt;
  }

private:
  const nlohmann::json* j_;
};

/// The count at member `key` of `obj`: a non-negative integer that fits a
/// `long long`, or with `allow_integral_float` also a float `12.0`.
template <class V>
std::optional<long long> member_count(const V& obj, std::string_view key,
                                      bool allow_integral_float) {
  auto v = obj.member(key);
  return v ? v->count(allow_integral_float) : std::nullopt;
}

/// Parses `text` as `parse_json` does (whole text, UTF-8, no NUL, at most
/// `max_depth` deep) and calls `read(value)` with the root: on simdjson's
/// document when it accepts the text, else on nlohmann's when that accepts
/// it. Returns the fault; `read` runs only when it is `none`. `read` must
/// not parse again on the same thread.
template <class Read>
json_fault read_json(std::string_view text, int max_depth, Read&& read) {
  if (text.find('\0') != std::string_view::npos)
    return json_fault::nul_byte;
  if (nests_deeper_than(text, max_depth))
    return json_fault::too_deep;
  // One parser per thread; its buffers grow to the largest text it read,
  // so a large one is let go rather than kept for good.
  thread_local simdjson::dom::parser parser;
  constexpr std::size_t keep_capacity = 1 << 20;
  if (parser.capacity() > keep_capacity)
    parser = simdjson::dom::parser{};
  auto doc = parser.parse(text.data(), text.size(), true);
  if (!doc.error()) {
    read(sj_value{doc.value_unsafe()});
    return json_fault::none;
  }
  nlohmann::json j;
  auto fault = parse_json(text, max_depth, j);
  if (fault == json_fault::none)
    read(nl_value{j});
  return fault;
}

} // namespace gatehouse::policy::json_read
