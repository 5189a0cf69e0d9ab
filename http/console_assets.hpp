#pragma once

#include <string_view>

namespace gatehouse::http {

/// One file of the web console, compiled into the binary
/// (cmake/embed_console.cmake writes the table from console/).
struct console_asset {
  std::string_view path;         ///< "/index.html", "/static/js/main.js"
  std::string_view content_type; ///< "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag; ///< quoted, from the content's SHA-256
};

const console_asset* console_assets_begin();
const console_asset* console_assets_end();

} // namespace gatehouse::http
