#include "http/message.hpp"

namespace gatehouse::http {

namespace {

std::optional<std::string_view> find(const header_list& xs,
                                     std::string_view name) {
  for (auto& [k, v] : xs)
    if (k == name)
      return std::string_view{v};
  return std::nullopt;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string_view>
http_request::header(std::string_view name) const {
  return find(headers, name);
}

std::optional<std::string_view>
http_request::query_param(std::string_view name) const {
  return find(query, name);
}

std::string percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
      int hi = hex_value(in[i + 1]);
      int lo = hex_value(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

void split_target(std::string_view target, std::string& path,
                  header_list& query) {
  auto q = target.find('?');
  path = std::string{target.substr(0, q)};
  query.clear();
  if (q == std::string_view::npos)
    return;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    auto part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{}
                                         : rest.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    auto key = part.substr(0, eq);
    auto val = eq == std::string_view::npos ? std::string_view{}
                                            : part.substr(eq + 1);
    query.emplace_back(percent_decode(key, true), percent_decode(val, true));
  }
}

} // namespace gatehouse::http
