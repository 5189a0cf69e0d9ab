#pragma once

#include <string>

namespace gatehouse::app {

/// Sends log lines to stderr as JSON objects (`format` "json") or plain text.
void setup_logging(const std::string& format);

} // namespace gatehouse::app
