#include "config/options.hpp"

#include "config/settings.hpp"
#include "config/values.hpp"

#include <cctype>

namespace gatehouse::config {

namespace {

using error = std::optional<std::string>;

constexpr int max_threads = 256;
constexpr int min_bcrypt_cost = 4;
constexpr int max_bcrypt_cost = 14;
constexpr std::size_t min_jwt_secret_chars = 32;
constexpr int max_upstream_timeout_s = 3600;

bool has_space_or_control(std::string_view s) {
  for (unsigned char c : s)
    if (c <= 0x20 || c == 0x7f)
      return true;
  return false;
}

error apply_config(settings& cfg, std::string_view v) {
  if (v.empty())
    return "must name a file";
  cfg.config_file = std::string{v};
  return std::nullopt;
}

error apply_listen(settings& cfg, std::string_view v) {
  auto hp = parse_listen(v);
  if (!hp)
    return "must be HOST:PORT (IPv6 as [ADDR]:PORT, port 0..65535)";
  cfg.listen_host = std::move(hp->host);
  cfg.listen_port = hp->port;
  return std::nullopt;
}

error apply_data_dir(settings& cfg, std::string_view v) {
  if (v.empty())
    return "must not be empty";
  cfg.data_dir = std::string{v};
  return std::nullopt;
}

error apply_console_dir(settings& cfg, std::string_view v) {
  // Files are looked up as DIR + "/static/…": no trailing slash.
  while (v.size() > 1 && v.back() == '/')
    v.remove_suffix(1);
  cfg.console_dir = std::string{v};
  return std::nullopt;
}

error apply_database_url(settings& cfg, std::string_view v) {
  if (!is_database_url(v))
    return "must be sqlite://PATH, postgresql://... or postgres://...";
  cfg.database_url = std::string{v};
  return std::nullopt;
}

error apply_operator_token(settings& cfg, std::string_view v) {
  if (has_space_or_control(v))
    return "must not contain spaces or control characters";
  cfg.operator_token = std::string{v};
  return std::nullopt;
}

error apply_master_key(settings& cfg, std::string_view v) {
  if (!v.empty() && !is_hex64(v))
    return "must be 64 hexadecimal characters (32 bytes)";
  cfg.master_key_hex = std::string{v};
  return std::nullopt;
}

error apply_jwt_secret(settings& cfg, std::string_view v) {
  if (!v.empty() && v.size() < min_jwt_secret_chars)
    return "must be at least 32 characters";
  cfg.jwt_secret = std::string{v};
  return std::nullopt;
}

error apply_default_plan(settings& cfg, std::string_view v) {
  if (v != "free" && v != "enterprise")
    return "must be 'free' or 'enterprise'";
  cfg.default_plan = std::string{v};
  return std::nullopt;
}

error apply_allow_private(settings& cfg, std::string_view v) {
  auto t = trim(v);
  if (t != "all" && !is_cidr_list(t))
    return "must be 'all' or a comma-separated CIDR list";
  cfg.allow_private_upstreams = std::string{t};
  return std::nullopt;
}

error apply_trusted_proxies(settings& cfg, std::string_view v) {
  auto t = trim(v);
  if (!is_cidr_list(t))
    return "must be a comma-separated CIDR list";
  cfg.trusted_proxies = std::string{t};
  return std::nullopt;
}

error apply_threads(settings& cfg, std::string_view v) {
  auto n = parse_int_in_range(v, 1, max_threads);
  if (!n)
    return "must be an integer between 1 and 256";
  cfg.threads = *n;
  return std::nullopt;
}

error apply_bcrypt_cost(settings& cfg, std::string_view v) {
  auto n = parse_int_in_range(v, min_bcrypt_cost, max_bcrypt_cost);
  if (!n)
    return "must be an integer between 4 and 14";
  cfg.bcrypt_cost = *n;
  return std::nullopt;
}

error apply_upstream_timeout(settings& cfg, std::string_view v) {
  auto n = parse_int_in_range(v, 1, max_upstream_timeout_s);
  if (!n)
    return "must be an integer number of seconds between 1 and 3600";
  cfg.upstream_timeout_s = *n;
  return std::nullopt;
}

/// Applies an integer setting of `settings` bounded by [Min, Max].
template <int settings::*Member, int Min, int Max>
error apply_bounded(settings& cfg, std::string_view v) {
  auto n = parse_int_in_range(v, Min, Max);
  if (!n)
    return "must be an integer between " + std::to_string(Min) + " and "
           + std::to_string(Max);
  cfg.*Member = *n;
  return std::nullopt;
}

constexpr int KiB = 1024;
constexpr int MiB = 1024 * KiB;

error apply_node_id(settings& cfg, std::string_view v) {
  if (v.empty() || v.size() > 64)
    return "must be 1 to 64 characters";
  for (unsigned char c : v)
    if (!std::isalnum(c) && c != '-' && c != '_' && c != '.')
      return "may hold only letters, digits, '-', '_' and '.'";
  cfg.node_id = std::string{v};
  return std::nullopt;
}

error apply_cluster_listen(settings& cfg, std::string_view v) {
  auto hp = parse_listen(v);
  if (!hp || hp->port == 0)
    return "must be HOST:PORT with a port 1..65535 (IPv6 as [ADDR]:PORT)";
  cfg.cluster_listen_host = std::move(hp->host);
  cfg.cluster_listen_port = hp->port;
  return std::nullopt;
}

error apply_cluster_peers(settings& cfg, std::string_view v) {
  std::vector<std::string> peers;
  std::string_view rest = v;
  while (!trim(rest).empty()) {
    auto comma = rest.find(',');
    auto item = trim(rest.substr(0, comma));
    auto hp = parse_listen(item);
    if (!hp || hp->port == 0)
      return "must be a comma-separated list of HOST:PORT";
    peers.emplace_back(item);
    if (comma == std::string_view::npos)
      break;
    rest = rest.substr(comma + 1);
  }
  cfg.cluster_peers = std::move(peers);
  return std::nullopt;
}

constexpr std::size_t min_cluster_secret_chars = 16;

error apply_cluster_secret(settings& cfg, std::string_view v) {
  if (!v.empty() && v.size() < min_cluster_secret_chars)
    return "must be at least 16 characters";
  cfg.cluster_secret = std::string{v};
  return std::nullopt;
}

error apply_log_format(settings& cfg, std::string_view v) {
  if (v != "json" && v != "text")
    return "must be 'json' or 'text'";
  cfg.log_format = std::string{v};
  return std::nullopt;
}

} // namespace

const std::vector<option_def>& options() {
  static const std::vector<option_def> table{
    {"config", "--config", "GATEHOUSE_CONFIG", "FILE", "none",
     "TOML configuration file", toml_kind::none, false, apply_config},
    {"listen", "--listen", "GATEHOUSE_LISTEN", "HOST:PORT", "127.0.0.1:8080",
     "address to serve on; IPv6 as [::1]:8080; port 0 picks a free port",
     toml_kind::string, false, apply_listen},
    {"data_dir", "--data-dir", "GATEHOUSE_DATA_DIR", "DIR", "./var",
     "directory for the embedded database and generated secrets",
     toml_kind::string, false, apply_data_dir},
    {"database_url", "--database", "GATEHOUSE_DATABASE_URL", "URL",
     "sqlite://<data-dir>/gatehouse.db",
     "sqlite://PATH, or postgresql://... for PostgreSQL", toml_kind::string,
     true, apply_database_url},
    {"operator_token", "--operator-token", "GATEHOUSE_OPERATOR_TOKEN", "T",
     "none (admin routes disabled)",
     "bearer token for /api/v1/admin/* and /metrics", toml_kind::string, true,
     apply_operator_token},
    {"master_key", "", "GATEHOUSE_MASTER_KEY", "HEX",
     "generated into the data dir",
     "64 hex chars, AES-256 key for provider secrets", toml_kind::none, true,
     apply_master_key},
    {"jwt_secret", "", "GATEHOUSE_JWT_SECRET", "SECRET",
     "generated into the data dir", "session token signing secret, >= 32 chars",
     toml_kind::none, true, apply_jwt_secret},
    {"console_dir", "--console-dir", "GATEHOUSE_CONSOLE_DIR", "DIR",
     "built in", "serve the web console from DIR instead of the binary",
     toml_kind::string, false, apply_console_dir},
    {"default_plan", "--default-plan", "GATEHOUSE_DEFAULT_PLAN", "P", "free",
     "plan of new organizations: free or enterprise", toml_kind::string, false,
     apply_default_plan},
    {"allow_private_upstreams", "--allow-private-upstreams",
     "GATEHOUSE_ALLOW_PRIVATE_UPSTREAMS", "LIST", "empty",
     "private upstream addresses providers may use: 'all' or a CIDR "
     "list",
     toml_kind::list, false, apply_allow_private},
    {"trusted_proxies", "--trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES",
     "LIST", "empty", "CIDR list of proxies whose X-Forwarded-For is believed",
     toml_kind::list, false, apply_trusted_proxies},
    {"threads", "--threads", "GATEHOUSE_THREADS", "N", "number of cores",
     "worker threads, 1..256", toml_kind::integer, false, apply_threads},
    {"bcrypt_cost", "--bcrypt-cost", "GATEHOUSE_BCRYPT_COST", "N", "10",
     "bcrypt cost of password hashes, 4..14", toml_kind::integer, false,
     apply_bcrypt_cost},
    {"upstream_timeout", "--upstream-timeout", "GATEHOUSE_UPSTREAM_TIMEOUT",
     "SECONDS", "300",
     "seconds a provider may take to answer, and between streamed parts",
     toml_kind::integer, false, apply_upstream_timeout},
    {"max_connections", "--max-connections", "GATEHOUSE_MAX_CONNECTIONS",
     "N", "10000", "client connections open at once; more get 503, 1..1000000",
     toml_kind::integer, false,
     apply_bounded<&settings::max_connections, 1, 1000000>},
    {"max_queued_requests", "--max-queued-requests",
     "GATEHOUSE_MAX_QUEUED_REQUESTS", "N", "1024",
     "management requests waiting for a worker; more get 503, 1..1000000",
     toml_kind::integer, false,
     apply_bounded<&settings::max_queued_requests, 1, 1000000>},
    {"max_header_bytes", "--max-header-bytes", "GATEHOUSE_MAX_HEADER_BYTES",
     "N", "16384", "bytes of a request line and headers, 1024..1048576",
     toml_kind::integer, false,
     apply_bounded<&settings::max_header_bytes, KiB, MiB>},
    {"max_body_bytes", "--max-body-bytes", "GATEHOUSE_MAX_BODY_BYTES", "N",
     "8388608", "bytes of a proxied request body, 1024..1073741824",
     toml_kind::integer, false,
     apply_bounded<&settings::max_body_bytes, KiB, 1024 * MiB>},
    {"max_manage_body_bytes", "--max-manage-body-bytes",
     "GATEHOUSE_MAX_MANAGE_BODY_BYTES", "N", "1048576",
     "bytes of a management request body, 1024..67108864", toml_kind::integer,
     false, apply_bounded<&settings::max_manage_body_bytes, KiB, 64 * MiB>},
    {"max_json_depth", "--max-json-depth", "GATEHOUSE_MAX_JSON_DEPTH", "N",
     "128", "nesting depth of JSON bodies and upstream answers, 8..1024",
     toml_kind::integer, false,
     apply_bounded<&settings::max_json_depth, 8, 1024>},
    {"max_sse_event_bytes", "--max-sse-event-bytes",
     "GATEHOUSE_MAX_SSE_EVENT_BYTES", "N", "1048576",
     "bytes of one upstream SSE event (a longer one ends the stream)",
     toml_kind::integer, false,
     apply_bounded<&settings::max_sse_event_bytes, KiB, 64 * MiB>},
    {"max_usage_parse_bytes", "--max-usage-parse-bytes",
     "GATEHOUSE_MAX_USAGE_PARSE_BYTES", "N", "4194304",
     "bytes of a whole answer read for usage (beyond: estimated)",
     toml_kind::integer, false,
     apply_bounded<&settings::max_usage_parse_bytes, 0, 64 * MiB>},
    {"auth_limiter_entries", "--auth-limiter-entries",
     "GATEHOUSE_AUTH_LIMITER_ENTRIES", "N", "100000",
     "client addresses the sign-up/login limiter tracks, 100..10000000",
     toml_kind::integer, false,
     apply_bounded<&settings::auth_limiter_entries, 100, 10000000>},
    {"drain_grace", "--drain-grace", "GATEHOUSE_DRAIN_GRACE", "SECONDS", "30",
     "seconds SIGTERM waits for requests and streams, 0..3600",
     toml_kind::integer, false,
     apply_bounded<&settings::drain_grace_s, 0, 3600>},
    {"org_idle_timeout", "--org-idle-timeout", "GATEHOUSE_ORG_IDLE_TIMEOUT",
     "SECONDS", "300",
     "seconds an unused org actor lives before it passivates, 1..86400",
     toml_kind::integer, false,
     apply_bounded<&settings::org_idle_timeout_s, 1, 86400>},
    {"log_cache_mib", "--log-cache-mib", "GATEHOUSE_LOG_CACHE_MIB", "MIB", "16",
     "SQLite page cache of the request-log writer, MiB, 1..65536",
     toml_kind::integer, false,
     apply_bounded<&settings::log_cache_mib, 1, 65536>},
    {"cache_mib", "--cache-mib", "GATEHOUSE_CACHE_MIB", "MIB", "64",
     "response cache memory (answers and keys), MiB, 1..65536",
     toml_kind::integer, false, apply_bounded<&settings::cache_mib, 1, 65536>},
    {"webhook_retry_base_ms", "--webhook-retry-base-ms",
     "GATEHOUSE_WEBHOOK_RETRY_BASE_MS", "MS", "5000",
     "first retry of a webhook delivery, doubling after, ms, 10..5000",
     toml_kind::integer, false,
     apply_bounded<&settings::webhook_retry_base_ms, 10, 5000>},
    {"node_id", "--node-id", "GATEHOUSE_NODE_ID", "ID", "the host name",
     "this node's name in the cluster: letters, digits, '-', '_', '.'",
     toml_kind::string, false, apply_node_id},
    {"cluster_listen", "--cluster-listen", "GATEHOUSE_CLUSTER_LISTEN",
     "HOST:PORT", "none (single node)",
     "cluster traffic address (private interface); turns cluster mode on",
     toml_kind::string, false, apply_cluster_listen},
    {"cluster_peers", "--cluster-peers", "GATEHOUSE_CLUSTER_PEERS",
     "HOST:PORT,...", "empty",
     "cluster addresses of the other members to connect to", toml_kind::list,
     false, apply_cluster_peers},
    {"cluster_lease_slice", "--cluster-lease-slice",
     "GATEHOUSE_CLUSTER_LEASE_SLICE", "N", "64",
     "team budget a member leases at once, in request estimates, 1..4096",
     toml_kind::integer, false,
     apply_bounded<&settings::cluster_lease_slice, 1, 4096>},
    {"cluster_secret", "", "GATEHOUSE_CLUSTER_SECRET", "SECRET", "none",
     "secret every cluster member proves it holds, >= 16 chars",
     toml_kind::none, true, apply_cluster_secret},
    {"log_format", "--log-format", "GATEHOUSE_LOG_FORMAT", "json|text",
     "text on a terminal, else json", "log line format", toml_kind::string,
     false, apply_log_format},
  };
  return table;
}

const option_def* find_by_flag(std::string_view flag) {
  if (flag.empty())
    return nullptr;
  for (const auto& opt : options())
    if (opt.flag == flag)
      return &opt;
  return nullptr;
}

const option_def* find_by_env(std::string_view env) {
  for (const auto& opt : options())
    if (opt.env == env)
      return &opt;
  return nullptr;
}

const option_def* find_by_key(std::string_view key) {
  for (const auto& opt : options())
    if (opt.key == key && opt.in_file != toml_kind::none)
      return &opt;
  return nullptr;
}

} // namespace gatehouse::config
