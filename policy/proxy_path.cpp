#include "policy/proxy_path.hpp"

namespace gatehouse::policy {

namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

std::optional<std::string> proxied_path_problem(std::string_view path) {
  for (std::size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    if (c <= 0x20 || c >= 0x7F)
      return "path: must be printable ASCII";
    if (c == '\\')
      return "path: must not contain a backslash";
    if (c == '%' && i + 2 < path.size()) {
      char hi = path[i + 1];
      char lo = lower(path[i + 2]);
      if (hi == '2' && (lo == 'e' || lo == 'f'))
        return "path: must not contain an encoded dot or slash";
      if (hi == '5' && lo == 'c')
        return "path: must not contain an encoded backslash";
    }
  }
  std::size_t begin = 0;
  while (begin <= path.size()) {
    auto slash = path.find('/', begin);
    auto end = slash == std::string_view::npos ? path.size() : slash;
    auto segment = path.substr(begin, end - begin);
    if (segment == "." || segment == "..")
      return "path: must not contain '.' or '..' segments";
    if (slash == std::string_view::npos)
      break;
    begin = slash + 1;
  }
  return std::nullopt;
}

} // namespace gatehouse::policy
