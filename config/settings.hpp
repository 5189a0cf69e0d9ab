#pragma once

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/help.hpp"

namespace gatehouse::config {

/// Returns the default worker thread count: the number of cores, clamped
/// to 1..256.
int default_thread_count();

/// Returns the default log format: "text" when stderr is a terminal, else
/// "json".
std::string default_log_format();

/// The node's configuration, built once at start-up from defaults, the
/// TOML file, the environment and the command line (later sources win).
struct settings {
  /// Path of the TOML file read, empty if none.
  std::string config_file;
  /// Address to listen on (no brackets for IPv6).
  std::string listen_host = "127.0.0.1";
  /// Port to listen on; 0 = any free port.
  unsigned short listen_port = 8080;
  /// Directory for the embedded database and generated secrets.
  std::string data_dir = "./var";
  /// `sqlite://PATH` or `postgresql://...`; defaults to
  /// `sqlite://<data_dir>/gatehouse.db`.
  std::string database_url;
  /// Bearer token of the operator routes; empty = admin routes disabled.
  std::string operator_token;
  /// 64 hex characters of the AES-256 master key; empty = generate/load one
  /// in the data directory.
  std::string master_key_hex;
  /// Session token signing secret (>= 32 characters); empty = generate/load
  /// one in the data directory.
  std::string jwt_secret;
  /// Directory to serve the web console from instead of the copy built
  /// into the binary (for working on the console); empty = built-in.
  std::string console_dir;
  /// Plan of newly created orgs: "free" or "enterprise".
  std::string default_plan = "free";
  /// "all", or a comma-separated CIDR list of private upstream addresses
  /// providers may use; empty = none.
  std::string allow_private_upstreams;
  /// Comma-separated CIDR list of proxies whose X-Forwarded-For is trusted.
  std::string trusted_proxies;
  /// Worker threads; defaults to the number of cores (at least 1).
  int threads = default_thread_count();
  /// bcrypt cost for new password hashes (4..14).
  int bcrypt_cost = 10;
  /// Seconds a provider may take to send its response head, and between two
  /// reads of its body (1..3600).
  int upstream_timeout_s = 300;
  /// "json" or "text"; defaults to text when stderr is a terminal, else
  /// json.
  std::string log_format = default_log_format();

  // -- limits: every byte a client, a tenant or an upstream sends is
  // bounded by one of these.

  /// Client connections open at once; more are answered 503.
  int max_connections = 10000;
  /// Management requests waiting for a worker thread; more are answered
  /// 503.
  int max_queued_requests = 1024;
  /// Bytes of a request line and its headers.
  int max_header_bytes = 16 * 1024;
  /// Bytes of a proxied (`/v1/*`) request body.
  int max_body_bytes = 8 * 1024 * 1024;
  /// Bytes of a management request body.
  int max_manage_body_bytes = 1024 * 1024;
  /// Nesting depth of any JSON text Gatehouse parses.
  int max_json_depth = 128;
  /// Bytes of one SSE event read from an upstream.
  int max_sse_event_bytes = 1024 * 1024;
  /// Bytes of a whole upstream answer parsed for its usage.
  int max_usage_parse_bytes = 4 * 1024 * 1024;
  /// Client addresses the sign-up/login limiter tracks.
  int auth_limiter_entries = 100000;
  /// Seconds a drain waits for in-flight requests and streams.
  int drain_grace_s = 30;
  /// Seconds an org actor stays unused before it passivates.
  int org_idle_timeout_s = 300;
  /// SQLite page cache of the request-log writer's connection, MiB.
  int log_cache_mib = 16;
  /// Memory of the response cache (cached answers and their keys), MiB.
  int cache_mib = 64;
  /// Delay before the first retry of a webhook delivery, ms; each later
  /// retry waits twice as long, at most an hour.
  int webhook_retry_base_ms = 5000;

  // -- cluster

  /// This node's name in the cluster; defaults to the host name.
  std::string node_id;
  /// Address cluster traffic is served on; empty host = not in cluster
  /// mode.
  std::string cluster_listen_host;
  /// Port of cluster traffic (with cluster_listen_host).
  unsigned short cluster_listen_port = 0;
  /// The peers to connect to, as "HOST:PORT" (IPv6 hosts in brackets).
  std::vector<std::string> cluster_peers;
  /// The secret every member proves it holds; required in cluster mode.
  std::string cluster_secret;
  /// Request estimates a member asks an org's home for at once (the slice
  /// of a team budget it leases); 1 asks the home for every request.
  int cluster_lease_slice = 64;

  /// True when --cluster-listen is set.
  bool cluster_mode() const {
    return !cluster_listen_host.empty();
  }
};

/// What the command line asks the binary to do.
enum class command { serve, migrate, set_plan, help, version };

/// A parsed command line: the command, the effective settings and the
/// positional arguments of the command (e.g. {SLUG, PLAN} for set_plan).
struct invocation {
  /// The command to run.
  command cmd = command::serve;
  /// The effective settings (defaults only for help and version).
  settings cfg;
  /// Positional arguments of the command.
  std::vector<std::string> args;
};

/// A configuration error; the message names the setting and its source.
struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Parses the command line and builds the settings from defaults, the TOML
/// file named by --config or GATEHOUSE_CONFIG, the `GATEHOUSE_*` entries of
/// `env` and the flags, in increasing precedence. Throws config_error on an
/// unknown flag, TOML key or GATEHOUSE_* variable, a wrongly typed TOML
/// value, an invalid value, an unreadable config file or a bad command.
invocation parse_invocation(int argc, const char* const* argv,
                            const std::map<std::string, std::string>& env);

/// Copies a NULL-terminated `NAME=VALUE` array (such as `environ`) into a
/// map.
std::map<std::string, std::string> environment_map(char** environ);

} // namespace gatehouse::config
