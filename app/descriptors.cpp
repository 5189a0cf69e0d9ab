#include "app/descriptors.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace gatehouse::app {

namespace {

/// Descriptors besides the connections: listeners, database files and
/// sockets, the event loops' own.
constexpr rlim_t spare_descriptors = 256;

/// The open-file soft limit, raised to the hard limit when allowed.
rlim_t raise_open_file_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  if (rl.rlim_cur < rl.rlim_max && rl.rlim_max != RLIM_INFINITY) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  return rl.rlim_cur;
}

} // namespace

void prepare_descriptors(std::size_t connections) {
  auto limit = raise_open_file_limit();
  auto needed = static_cast<rlim_t>(connections) * 2 + spare_descriptors;
  if (limit == 0 || limit == RLIM_INFINITY)
    return;
  if (limit < needed)
    spdlog::warn("the open-file limit ({}) is below what {} connections "
                 "may need ({}): raise it (ulimit -n) or lower "
                 "--max-connections",
                 limit, connections, needed);
  // A descriptor placed at the top of the table grows it once, now, while
  // this is the only thread; it is closed again at once.
  const int top = static_cast<int>(std::min(limit, needed)) - 1;
  if (top < 3 || fcntl(top, F_GETFD) != -1 || errno != EBADF)
    return;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  if (dup3(fd, top, O_CLOEXEC) == top)
    close(top);
  close(fd);
}

} // namespace gatehouse::app
