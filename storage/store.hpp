#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "storage/errors.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage {

class database;

/// Filters of store::query_logs; every one that is set must match.
struct log_filter {
  std::optional<std::string> app_id;
  std::optional<std::string> team_id;
  std::optional<std::string> key_id;
  std::optional<std::string> provider;
  std::optional<std::string> model;
  std::optional<std::string> session_id;
  std::optional<int> status;
  /// RFC 3339 UTC bounds on created_at: from inclusive, to exclusive. A
  /// date alone ("2026-11-23") stands for its midnight.
  std::optional<std::string> from;
  std::optional<std::string> to;
};

/// One page of request logs, newest first.
struct log_page {
  std::vector<request_log_record> logs;
  /// Opaque; gives the next page. Absent on the last page.
  std::optional<std::string> next_cursor;
};

/// One group of store::usage_report.
struct usage_row {
  /// The day (`YYYY-MM-DD`), id or name the row is about; "" for requests
  /// without one (e.g. no app).
  std::string group;
  std::int64_t requests = 0;
  std::int64_t tokens_in = 0;
  std::int64_t tokens_out = 0;
  std::int64_t cost_micros = 0;
  /// Requests whose model had no price.
  std::int64_t unpriced_requests = 0;
};

/// A member of an organization as the member list shows it.
struct member_row {
  user_record user;
  membership_record membership;
  /// The user's active keys in the organization.
  std::int64_t api_keys = 0;
  /// Requests made with the user's keys in the organization (any status).
  std::int64_t request_count = 0;
};

/// Filters and order of store::list_members.
struct member_query {
  /// Case-insensitive (ASCII) substring of the display name or email.
  std::optional<std::string> q;
  /// Exact role and status.
  std::optional<std::string> role;
  std::optional<std::string> status;
  /// `name`, `email`, `role` (by rank: owner, admin, member, viewer),
  /// `status`, `last_active` or `joined_at`.
  std::string sort = "name";
  bool descending = false;
};

/// Head counts of an organization's memberships.
struct member_summary {
  /// Every membership, whatever its status.
  std::int64_t total = 0;
  /// Active memberships.
  std::int64_t active = 0;
  /// Active owners and admins.
  std::int64_t admins = 0;
  /// Invitations not yet accepted.
  std::int64_t pending_invites = 0;
};

/// A team with its head counts.
struct team_row {
  team_record team;
  /// Memberships assigned to the team, whatever their status.
  std::int64_t member_count = 0;
  /// Active keys assigned to the team.
  std::int64_t key_count = 0;
};

/// Counts shown by an app's info.
struct app_info {
  /// The app's keys, whatever their status.
  std::int64_t keys = 0;
  /// The app's request logs.
  std::int64_t requests = 0;
};

/// Filters of store::query_audit; every one that is set must match.
struct audit_filter {
  std::optional<std::string> actor_id;
  std::optional<std::string> action;
  std::optional<std::string> target_type;
  std::optional<std::string> target_id;
  /// Bounds on created_at as for log_filter: from inclusive, to exclusive.
  std::optional<std::string> from;
  std::optional<std::string> to;
};

/// One page of audit entries, newest first.
struct audit_page {
  std::vector<audit_record> entries;
  /// Opaque; gives the next page. Absent on the last page.
  std::optional<std::string> next_cursor;
};

/// Gatehouse's domain queries, written once for both backends. A write
/// that touches several rows runs in one transaction. Errors are thrown as
/// storage_error; a duplicate slug, email or name as conflict_error. Uses
/// one connection, so one store per thread (or per lease).
class store {
public:
  /// Works on `db`, which must outlive the store.
  explicit store(database& db) : db_(db) {}

  // -- signup ---------------------------------------------------------------

  /// Creates an organization with its owner membership, first key and audit
  /// entry, and the user too when `new_user`. All or nothing; a taken slug
  /// throws conflict_error("orgs.slug"), a taken email "users.email".
  void create_signup(const org_record& org, const user_record& user,
                     bool new_user, const membership_record& membership,
                     const api_key_record& key, const audit_record& audit);

  // -- users ----------------------------------------------------------------

  /// The user with exactly this email.
  std::optional<user_record> find_user_by_email(const std::string& email);

  /// The user with this id.
  std::optional<user_record> find_user(const std::string& id);

  // -- organizations --------------------------------------------------------

  /// The organization with this id.
  std::optional<org_record> find_org(const std::string& id);

  /// The organization with this slug.
  std::optional<org_record> find_org_by_slug(const std::string& slug);

  /// Every organization, oldest first.
  std::vector<org_record> list_orgs();

  /// Stores the name and settings of `org` (slug, plan and creation time
  /// stay) and the audit entry; false when there is no such organization.
  bool update_org(const org_record& org, const audit_record& audit);

  /// Sets the plan and records the audit entry; false when there is no such
  /// organization.
  bool set_org_plan(const std::string& org_id, const std::string& plan,
                    const audit_record& audit);

  // -- change log of organizations ------------------------------------------
  //
  // Every audited change of an organization (its row, keys, providers,
  // prices, teams, apps, members) adds a row in its transaction and, on
  // PostgreSQL, notifies the channel "gatehouse_org_changes" at commit, so
  // that every node learns of the change (and tells the org's live actor
  // to read the org again) without polling each organization.

  /// Changes with a sequence number above `seq`, oldest first, at most
  /// `limit`. Rows become visible in sequence order.
  std::vector<org_change> org_changes_after(std::int64_t seq, int limit);

  /// The sequence number of the newest change; 0 when there is none.
  std::int64_t last_org_change();

  /// Deletes the changes recorded before `before` (RFC 3339); answers how
  /// many went.
  std::int64_t prune_org_changes(const std::string& before);

  // -- memberships ----------------------------------------------------------

  /// The membership of `user_id` in `org_id`, whatever its status.
  std::optional<membership_record> find_membership(const std::string& org_id,
                                                   const std::string& user_id);

  /// The user's memberships (any status) with their organizations: most
  /// recently used first, never-used ones last, ties by joining time.
  std::vector<org_membership> list_user_memberships(const std::string& user_id);

  /// Records that the user used the organization at `now`.
  void touch_membership(const std::string& org_id, const std::string& user_id,
                        const std::string& now);

  /// The user's first active membership in list_user_memberships order.
  std::optional<org_membership> most_recent_org(const std::string& user_id);

  // -- members and invitations ----------------------------------------------

  /// The organization's members (any status) matching `query`, in its
  /// order: members without a value of the sort column (no display name,
  /// never active, not joined) come last in both directions; ties by user
  /// id. Times compare as instants whatever their precision. An unknown
  /// sort throws std::invalid_argument.
  std::vector<member_row> list_members(const std::string& org_id,
                                       const member_query& query);

  /// Head counts of the organization's memberships.
  member_summary summarize_members(const std::string& org_id);

  /// The member `user_id` of the organization, whatever their status.
  std::optional<member_row> find_member(const std::string& org_id,
                                        const std::string& user_id);

  /// Stores an invitation (`membership`, normally status `invited` with its
  /// token hash and time) and its audit entry, and the user too when
  /// `new_user` (an empty password hash is stored as none). A user already
  /// in the organization throws conflict_error("memberships.user_id"); a
  /// taken email conflict_error("users.email").
  void insert_invite(const user_record& user, bool new_user,
                     const membership_record& membership,
                     const audit_record& audit);

  /// The pending invitation (status `invited`) with this token hash, with
  /// its user.
  std::optional<std::pair<user_record, membership_record>>
  find_invite(const std::string& token_hash);

  /// Accepts the user's pending invitation: the membership becomes active,
  /// joined, used and active at `now`, and loses its token; the user's
  /// password hash and display name are set when given. Records the audit
  /// entry. False (and no change) when there is no pending invitation.
  bool accept_invite(const std::string& org_id, const std::string& user_id,
                     const std::optional<std::string>& password_hash,
                     const std::optional<std::string>& display_name,
                     const std::string& now, const audit_record& audit);

  /// Stores the role, status, team, invite token hash and invitation time
  /// of `membership` and the audit entry; false when there is no such
  /// membership. A taken token hash throws
  /// conflict_error("memberships.invite_token_hash"). Demoting or
  /// suspending the only active owner throws last_owner_error: the rule is
  /// checked in the write transaction, with the org's active owners locked
  /// (FOR UPDATE on PostgreSQL; SQLite has one writer at a time), so that
  /// concurrent changes of two owners never remove both.
  bool update_membership(const membership_record& membership,
                         const audit_record& audit);

  /// Removes the membership, revokes the user's active keys in the
  /// organization (revoked at `now`) and records the audit entry. Returns
  /// the hashes that stopped working: those of the revoked keys and their
  /// previous hashes (whatever their overlap). Nullopt (and no change) when
  /// there is no such membership. Removing the only active owner throws
  /// last_owner_error, checked as in update_membership.
  std::optional<std::vector<std::string>>
  delete_membership(const std::string& org_id, const std::string& user_id,
                    const std::string& now, const audit_record& audit);

  /// The organization's owners; only active ones when `active_only`.
  std::int64_t count_owners(const std::string& org_id, bool active_only);

  // -- API keys -------------------------------------------------------------

  /// Stores a new key and its audit entry; a duplicate hash throws
  /// conflict_error("api_keys.key_hash").
  void insert_key(const api_key_record& key, const audit_record& audit);

  /// The organization's keys (all statuses), oldest first; only those of
  /// `user_id` when given.
  std::vector<api_key_record>
  list_keys(const std::string& org_id,
            const std::optional<std::string>& user_id = std::nullopt);

  /// The key `id` of the organization.
  std::optional<api_key_record> find_key(const std::string& org_id,
                                         const std::string& id);

  /// Revokes the key (keeping the first revocation time) and records the
  /// audit entry; false when the organization has no such key.
  bool revoke_key(const std::string& org_id, const std::string& id,
                  const std::string& now, const audit_record& audit);

  /// Gives an active key a new hash and prefix; the old hash stays valid
  /// until `previous_valid_until` (unix seconds). Records the audit entry.
  /// False when the organization has no such active key.
  bool rotate_key(const std::string& org_id, const std::string& id,
                  const std::string& new_hash, const std::string& new_prefix,
                  std::int64_t previous_valid_until, const audit_record& audit);

  /// Every key of the organization, for its in-memory key table.
  std::vector<api_key_record> load_org_keys(const std::string& org_id);

  /// Hash -> organization for every active key, plus previous hashes still
  /// valid at `now_unix`: the start-up snapshot of the key directory.
  /// Expiry is left to the organization's key table.
  std::vector<key_index_entry> load_key_index(std::int64_t now_unix);

  /// Where the key index splits into `parts` (1..16) parts of about equal
  /// size, for load_key_index(now, bounds, part): row ids on SQLite (each
  /// part then reads only its rows), leading hex digits of the hash on
  /// PostgreSQL.
  std::vector<std::string> key_index_bounds(int parts);

  /// Part `part` of load_key_index, split at `bounds` (key_index_bounds):
  /// the parts are consecutive ranges that together cover every key, also
  /// one added after the bounds were taken, so that several connections
  /// can read them at the same time.
  std::vector<key_index_entry>
  load_key_index(std::int64_t now_unix, const std::vector<std::string>& bounds,
                 int part);

  /// The number of active (not revoked) keys of the organization.
  std::int64_t count_active_keys(const std::string& org_id);

  // -- providers ------------------------------------------------------------

  /// Stores a new provider and its audit entry; a taken name throws
  /// conflict_error("providers.name"). A provider stored as the default
  /// takes that role from the previous one.
  void insert_provider(const provider_record& provider,
                       const audit_record& audit);

  /// Stores every field of the provider `provider.id` but its organization,
  /// creation time and default flag (see set_default_provider), and the
  /// audit entry. A rename is carried into the other providers' fallback
  /// lists; a taken name throws conflict_error("providers.name"). False
  /// when the organization has no such provider.
  bool update_provider(const provider_record& provider,
                       const audit_record& audit);

  /// Deletes the provider, removes it from the other providers' fallback
  /// lists and records the audit entry; the organization has no default
  /// afterwards if it was the default. False when there is no such
  /// provider.
  bool delete_provider(const std::string& org_id, const std::string& name,
                       const audit_record& audit);

  /// The organization's providers by name (byte order).
  std::vector<provider_record> list_providers(const std::string& org_id);

  /// The organization's provider `name`.
  std::optional<provider_record> find_provider(const std::string& org_id,
                                               const std::string& name);

  /// Makes `name` the organization's only default provider and records the
  /// audit entry; false (and no change) when there is no such provider.
  bool set_default_provider(const std::string& org_id, const std::string& name,
                            const audit_record& audit);

  /// The number of the organization's providers.
  std::int64_t count_providers(const std::string& org_id);

  // -- request logs and usage -----------------------------------------------

  /// Writes what the data plane accumulated, in one transaction: inserts
  /// the logs (a duplicate id throws conflict_error and writes nothing;
  /// texts are stored as valid UTF-8 without NUL: each invalid sequence
  /// and each NUL becomes U+FFFD, the same on every backend),
  /// adds the deltas to their monthly counters and records the key uses
  /// (last use only ever moves forward; requests add up). Deltas of the
  /// same counter and uses of the same key may repeat.
  void write_batch(const std::vector<request_log_record>& logs,
                   const std::vector<usage_delta>& deltas,
                   const std::vector<key_use>& uses);

  /// Called for an entry that write_entries leaves out.
  using refused_entry
    = std::function<void(const log_write& entry, const data_error& why)>;

  /// Writes `entries` with write_batch, in one transaction when the
  /// database takes them all. When it refuses the data of some entry (a
  /// data_error), the entries are split in halves, each half written in its
  /// own transaction, until every refused entry stands alone: it is left
  /// out (its log, counters and key use) and reported to `refused`; all
  /// others are committed. `settled` gets one flag per entry, set once the
  /// entry is committed or refused. Any other failure (connection lost,
  /// database busy or full) propagates: the entries whose flag is still
  /// unset are to be written again later.
  void write_entries(const std::vector<log_write>& entries,
                     std::vector<bool>& settled, const refused_entry& refused);

  /// The largest page query_logs returns.
  static constexpr int max_log_page = 1000;

  /// A page of the organization's request logs matching `filter`, newest
  /// first (ties by id). `cursor` is the next_cursor of the previous page,
  /// nullopt for the first; one that query_logs did not issue throws
  /// bad_cursor. `limit` is brought into [1, max_log_page].
  log_page query_logs(const std::string& org_id, const log_filter& filter,
                      const std::optional<std::string>& cursor, int limit);

  /// Requests, tokens and cost of the organization's requests logged in
  /// [from, to) (RFC 3339 UTC; an empty bound is no bound), grouped by
  /// `group_by`: `day` (UTC date of created_at), `app`, `team`, `key`,
  /// `model` or `provider`; ordered by group (byte order). Any other
  /// group_by throws std::invalid_argument.
  std::vector<usage_row> usage_report(const std::string& org_id,
                                      const std::string& group_by,
                                      const std::string& from,
                                      const std::string& to);

  /// Every usage counter of the organization for `month` (`YYYY-MM`),
  /// ordered by scope type and id.
  std::vector<usage_delta> load_month_usage(const std::string& org_id,
                                            const std::string& month);

  /// Team id -> cost (micro-dollars) of the organization's team counters
  /// for `month` (`YYYY-MM`).
  std::map<std::string, std::int64_t>
  team_month_spend(const std::string& org_id, const std::string& month);

  /// Deletes the organization's request logs created before `cutoff`
  /// (RFC 3339 UTC) and returns how many. Works in short batches, each its
  /// own transaction, so that the data plane's writes are never held up
  /// for long.
  std::int64_t delete_logs_before(const std::string& org_id,
                                  const std::string& cutoff);

  // -- pricing --------------------------------------------------------------

  /// The organization's price overrides by model (byte order).
  std::vector<price_override> list_price_overrides(const std::string& org_id);

  /// Replaces all of the organization's price overrides with `prices` and
  /// records the audit entry, in one transaction. A model given twice
  /// throws conflict_error("pricing.model") and changes nothing.
  void replace_price_overrides(const std::string& org_id,
                               const std::vector<price_override>& prices,
                               const audit_record& audit);

  // -- teams and apps -------------------------------------------------------

  /// Stores a new team; a taken name throws conflict_error("teams.name").
  void insert_team(const team_record& team);

  /// Stores a new team and its audit entry in one transaction.
  void insert_team(const team_record& team, const audit_record& audit);

  /// The organization's team `id`.
  std::optional<team_record> find_team(const std::string& org_id,
                                       const std::string& id);

  /// The organization's teams by name (byte order).
  std::vector<team_record> list_teams(const std::string& org_id);

  /// Stores a new app; a taken slug throws conflict_error("apps.slug").
  void insert_app(const app_record& app);

  /// Stores a new app and its audit entry in one transaction.
  void insert_app(const app_record& app, const audit_record& audit);

  /// The organization's app `id`.
  std::optional<app_record> find_app(const std::string& org_id,
                                     const std::string& id);

  /// The organization's apps by name (byte order), ties by id.
  std::vector<app_record> list_apps(const std::string& org_id);

  /// True when the organization has the team `id`.
  bool team_exists(const std::string& org_id, const std::string& id);

  /// True when the organization has the app `id`.
  bool app_exists(const std::string& org_id, const std::string& id);

  /// The organization's teams with their head counts, by name (byte
  /// order), ties by id; only those whose name holds `q` (ASCII case
  /// ignored) when given.
  std::vector<team_row> list_team_rows(const std::string& org_id,
                                       const std::optional<std::string>& q
                                       = std::nullopt);

  /// The organization's team `id` with its head counts.
  std::optional<team_row> find_team_row(const std::string& org_id,
                                        const std::string& id);

  /// Stores the name, description and spending limit of `team` and the
  /// audit entry; false when the organization has no such team. A taken
  /// name throws conflict_error("teams.name").
  bool update_team(const team_record& team, const audit_record& audit);

  /// Deletes the team, unassigns its memberships and keys, and records the
  /// audit entry; false (and no change) when there is no such team.
  bool delete_team(const std::string& org_id, const std::string& id,
                   const audit_record& audit);

  /// The keys assigned to the team (all statuses), oldest first.
  std::vector<api_key_record> list_team_keys(const std::string& org_id,
                                             const std::string& team_id);

  /// True when the organization has an app with this slug.
  bool slug_taken(const std::string& org_id, const std::string& slug);

  /// Stores the name, description, env, active flag and metadata of `app`
  /// (slug, type and creation time stay) and the audit entry; false when
  /// the organization has no such app.
  bool update_app(const app_record& app, const audit_record& audit);

  /// Deletes the app with its keys, request logs and usage counters (its
  /// own and its keys') and records the audit entry. Returns the hashes
  /// that stopped working: those of the deleted keys and their previous
  /// hashes. Nullopt (and no change) when there is no such app.
  std::optional<std::vector<std::string>> delete_app(const std::string& org_id,
                                                     const std::string& id,
                                                     const audit_record& audit);

  /// The numbers of the app's keys and request logs.
  app_info app_counts(const std::string& org_id, const std::string& app_id);

  // -- webhooks (store_webhooks.cpp) ----------------------------------------

  /// Stores a new webhook and its audit entry (a change of the org).
  void insert_webhook(const webhook_record& hook, const audit_record& audit);

  /// The organization's webhooks, oldest first.
  std::vector<webhook_record> list_webhooks(const std::string& org_id);

  /// The organization's webhook `id`.
  std::optional<webhook_record> find_webhook(const std::string& org_id,
                                             const std::string& id);

  /// Deletes the webhook with its queued deliveries and delivery log and
  /// records the audit entry; false when there is no such webhook.
  bool delete_webhook(const std::string& org_id, const std::string& id,
                      const audit_record& audit);

  /// True when the organization has a webhook.
  bool org_has_webhooks(const std::string& org_id);

  /// Queues the event `event_id` (body `payload`) for every webhook of the
  /// organization that subscribed to `type`: the org's own webhooks, and
  /// an app's when the event is about that app (`app_id`). With
  /// `webhook_id`, for that webhook alone whatever it subscribed to (a
  /// test). Due at `now_ms`; answers how many deliveries were queued.
  int enqueue_webhook_event(const std::string& org_id,
                            const std::optional<std::string>& app_id,
                            const std::string& event_id,
                            const std::string& type,
                            const std::string& payload, std::int64_t now_ms,
                            const std::optional<std::string>& webhook_id
                            = std::nullopt);

  /// Like enqueue_webhook_event for an event raised once per
  /// organization and `mark`: records the mark and queues the event in one
  /// transaction; -1 (and nothing queued) when the mark was recorded
  /// before.
  int enqueue_webhook_event_once(const std::string& mark,
                                 const std::string& now,
                                 const std::string& org_id,
                                 const std::optional<std::string>& app_id,
                                 const std::string& event_id,
                                 const std::string& type,
                                 const std::string& payload,
                                 std::int64_t now_ms);

  /// Claims at most `limit` deliveries due at `now_ms` for `node` until
  /// `now_ms + lease_ms`, with their webhooks' URLs and secrets, oldest
  /// due first. A claimed row is claimed by nobody else until the claim
  /// ends: the UPDATE takes only rows whose claim lapsed (PostgreSQL skips
  /// rows another node is claiming at that moment).
  std::vector<webhook_delivery>
  claim_webhook_deliveries(std::int64_t now_ms, std::int64_t lease_ms,
                           const std::string& node, int limit);

  /// Records an attempt in the delivery log and the delivery's new
  /// attempt count, state and next attempt (ending its claim), in one
  /// transaction.
  void record_webhook_attempt(const webhook_delivery& delivery,
                              const webhook_attempt& attempt);

  /// The webhook's delivery log, newest first, at most `limit` entries.
  std::vector<webhook_attempt> list_webhook_attempts(
    const std::string& webhook_id, int limit);

  /// When the next pending delivery is due (or its claim lapses), Unix
  /// ms; nullopt when none is pending.
  std::optional<std::int64_t> next_webhook_due();

  /// Records that the organization's once-only event `mark` was raised;
  /// false when it was already.
  bool insert_webhook_mark(const std::string& org_id, const std::string& mark,
                           const std::string& now);

  /// Active keys that expire in (from, to] (RFC 3339) of organizations
  /// with a webhook for `key.expiring`.
  std::vector<api_key_record> keys_expiring(const std::string& from,
                                            const std::string& to);

  /// Deletes finished deliveries created before `before_ms` and log
  /// entries before `before` (RFC 3339); answers how many rows went.
  std::int64_t prune_webhook_rows(std::int64_t before_ms,
                                  const std::string& before);

  // -- audit ----------------------------------------------------------------

  /// Appends an audit entry.
  void insert_audit(const audit_record& audit);

  /// The largest page query_audit returns.
  static constexpr int max_audit_page = 1000;

  /// A page of the organization's audit entries matching `filter`, newest
  /// first (ties by id); creation times compare as instants whether they
  /// have a fraction of a second or not. `cursor` is the next_cursor of
  /// the previous page, nullopt for the first; one that was not issued
  /// throws bad_cursor. `limit` is brought into [1, max_audit_page].
  audit_page query_audit(const std::string& org_id, const audit_filter& filter,
                         const std::optional<std::string>& cursor, int limit);

  // -- misc -----------------------------------------------------------------

  /// The id of every organization, oldest first.
  std::vector<std::string> list_org_ids();

  /// True when the database answers a trivial query; never throws.
  bool ping() noexcept;

private:
  database& db_;
};

} // namespace gatehouse::storage
