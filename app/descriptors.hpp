#pragma once

#include <cstddef>

namespace gatehouse::app {

/// Raises the open-file limit to the hard limit, and grows the process's
/// descriptor table at once to what `connections` client connections need
/// (each with an upstream connection), up to that limit. Call it before
/// any thread starts: Linux grows a table shared by several threads only
/// after an RCU grace period, which stalls the growing thread for
/// milliseconds — under a burst of new connections, every connection of
/// that thread's loop would wait (bench/RESULTS.md, time to first token).
void prepare_descriptors(std::size_t connections);

} // namespace gatehouse::app
