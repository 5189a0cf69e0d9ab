#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/fwd.hpp"

namespace gatehouse::storage {
class connection_pool;
struct key_index_entry;
} // namespace gatehouse::storage

namespace gatehouse::actors {

struct org_view;

/// A live org actor and its published view, held for one use: the actor
/// does not passivate while any hold on it is outstanding. Whoever got a
/// hold gives it back exactly once with release().
struct org_hold {
  org_actor hdl;                        ///< invalid while being spawned
  std::shared_ptr<const org_view> view; ///< the last one published
  /// The entry's release counter; stays valid until released.
  std::atomic<std::uint64_t>* released = nullptr;

  /// True if the org has a live entry (and this is a hold on it).
  explicit operator bool() const {
    return released != nullptr;
  }

  /// Gives the hold back (once).
  void release() {
    if (released)
      released->fetch_add(1, std::memory_order_acq_rel);
    released = nullptr;
  }
};

/// A live org that has been idle, as seen by idle_orgs().
struct idle_org {
  std::string org_id;
  org_actor hdl;
  std::uint64_t uses = 0; ///< holds taken so far; retire() needs it
};

/// Maps API-key hashes to org ids and org ids to their live org actors.
///
/// Thread-safe and sharded, so that HTTP threads read it concurrently without
/// funnelling through one actor. Org actors keep the key part current.
///
/// A passivated org (no actor) costs only its keys' entries here. Whoever
/// uses a live org's actor or view from outside the actor takes a hold
/// first (hold(), hold_or_spawn()); an actor may retire() only when no hold
/// is outstanding and none was taken since it last looked, which makes
/// "idle" and "gone" one atomic step.
class directory {
public:
  /// Records that `key_hash` belongs to `org_id`.
  void add_key(const std::string& key_hash, const std::string& org_id);

  /// Forgets `key_hash`.
  void remove_key(const std::string& key_hash);

  /// The org owning `key_hash`, if any.
  std::optional<std::string> org_of_key(const std::string& key_hash) const;

  /// The number of key hashes known.
  std::size_t key_count() const;

  /// Makes room for `n` more key hashes at once (start-up).
  void reserve_keys(std::size_t n);

  /// Records every key of `index` (start-up): like add_key for each, with
  /// each lock taken once. Several threads may add at the same time;
  /// `expected`, the number of keys they add in all, spares growing the
  /// tables on the way.
  void add_keys(const std::vector<storage::key_index_entry>& index,
                std::size_t expected = 0);

  /// The running actor of `org_id`, or an invalid handle. A message sent to
  /// it without a hold may find it passivated (and be dropped).
  org_actor find_org(const std::string& org_id) const;

  /// The actor of `org_id`, spawned with `make` when not running yet. At
  /// most one `make` per org runs at a time: callers that arrive meanwhile
  /// wait for its result, so an org never gets two actors. `make` runs
  /// outside the directory's lock (it may read storage) and may return an
  /// invalid handle (org unknown); an exception from it reaches its caller
  /// and the waiting callers get an invalid handle.
  org_actor get_or_spawn(const std::string& org_id,
                         const std::function<org_actor()>& make);

  /// A hold on the live org `org_id` used at `now_s`; empty (nothing held)
  /// when the org has no actor.
  org_hold hold(const std::string& org_id, std::int64_t now_s);

  /// Like hold(), spawning the actor with `make` (see get_or_spawn) when
  /// the org has none; empty when `make` found no such org.
  org_hold hold_or_spawn(const std::string& org_id, std::int64_t now_s,
                         const std::function<org_actor()>& make);

  /// The view and release counter of a hold taken earlier on `org_id`,
  /// without taking another: for the settlement of a granted request.
  org_hold held(const std::string& org_id) const;

  /// Live orgs with no hold outstanding and no use since before `before_s`.
  std::vector<idle_org> idle_orgs(std::int64_t before_s) const;

  /// Takes the org out of the directory if `hdl` is still its actor, no
  /// hold is outstanding and exactly `uses` were ever taken: the caller
  /// then stops. False (nothing changed) otherwise.
  bool retire(const std::string& org_id, const org_actor& hdl,
              std::uint64_t uses);

  /// All running org actors (for shutdown).
  std::vector<org_actor> all_orgs() const;

  /// The number of running org actors.
  std::size_t live_orgs() const;

  /// Makes `view` what requests of `org_id` are authorized from.
  void publish(const std::string& org_id, std::shared_ptr<const org_view> view);

  /// The last view `org_id`'s actor published, if any.
  std::shared_ptr<const org_view> view_of(const std::string& org_id) const;

private:
  static constexpr std::size_t shard_count = 16;

  /// A SHA-256 key hash in binary: half the bytes of its hex form, and a
  /// hash code of its own first bytes.
  using digest = std::array<unsigned char, 32>;
  struct digest_hash {
    std::size_t operator()(const digest& d) const noexcept;
  };
  /// The binary form of a 64-digit lowercase hex hash, if it is one.
  static std::optional<digest> parse_digest(const std::string& hex);

  /// An index into org_ids_: millions of keys share a few org id strings.
  using org_index = std::uint32_t;

  /// Digests to org indexes in one array (open addressing, linear probing,
  /// deletion by shifting back): no allocation per key, one cache miss per
  /// lookup, and a million keys fill it in a fraction of a second.
  class key_table {
  public:
    /// The org of `d`, if recorded.
    std::optional<org_index> find(const digest& d) const;
    /// Records `d` for `org`, replacing what it had.
    void put(const digest& d, org_index org);
    /// Forgets `d`.
    void erase(const digest& d);
    /// Room for `n` digests in all without growing.
    void reserve(std::size_t n);
    std::size_t size() const {
      return size_;
    }

    key_table() = default;
    key_table(const key_table&) = delete;
    key_table& operator=(const key_table&) = delete;
    ~key_table();

  private:
    struct slot {
      digest d;
      org_index org_plus_one; ///< 0 when free: fresh memory is all free
    };
    /// Where the probe for `d` starts.
    std::size_t home(const digest& d) const;
    void rehash(std::size_t capacity);
    /// Zeroed memory for `n` slots (36 bytes each: a million keys take
    /// about 60 MiB).
    static slot* allocate(std::size_t n);
    static void release(slot* slots, std::size_t n);
    slot* slots_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t size_ = 0;
  };

  struct key_shard {
    mutable std::shared_mutex mtx;
    key_table by_digest;
    /// Hashes that are not hex SHA-256 (none in practice).
    std::unordered_map<std::string, org_index> by_text;
  };
  key_shard& shard_of(std::size_t code) const;

  /// Org ids to their index. UUIDs (every org id in practice) are kept in
  /// binary in one array: a lookup is one cache miss, with no text hashed
  /// or compared (start-up looks up the org of each of a million keys).
  class id_index {
  public:
    /// The index of `id`, if it has one.
    std::optional<org_index> find(const std::string& id) const;
    /// Gives `id`, which has none yet, index `i`.
    void insert(const std::string& id, org_index i);

  private:
    using uuid = std::array<std::uint64_t, 2>;
    /// The binary form of a lowercase UUID, if `id` is one.
    static std::optional<uuid> parse(const std::string& id);
    struct slot {
      uuid u;
      org_index plus_one; ///< 0 when free
    };
    std::size_t home(const uuid& u) const;
    std::vector<slot> slots_; ///< a power of two of them, at most half full
    std::size_t size_ = 0;
    /// Ids that are not UUIDs.
    std::unordered_map<std::string, org_index> text_;
  };

  /// The index of `org_id`, added when new.
  org_index intern(const std::string& org_id);
  /// The org id of an index.
  std::string org_id_at(org_index i) const;

  /// A live org: its actor, its view and the counters of its holds.
  struct org_entry {
    org_actor hdl;
    std::shared_ptr<const org_view> view;
    std::atomic<std::uint64_t> acquired{0};
    std::atomic<std::uint64_t> released{0};
    std::atomic<std::int64_t> last_used_s{0};
  };

  /// Takes a hold on `e`; call with orgs_mtx_ held (shared suffices).
  static org_hold take(org_entry& e, std::int64_t now_s);

  /// An org whose actor is being made; callers of get_or_spawn wait on it.
  struct spawning {
    std::condition_variable_any ready;
    bool done = false;
    org_actor result;
  };

  mutable std::array<key_shard, shard_count> keys_;
  mutable std::shared_mutex ids_mtx_;
  std::vector<std::string> org_ids_;
  id_index index_of_;
  mutable std::shared_mutex orgs_mtx_;
  std::unordered_map<std::string, std::unique_ptr<org_entry>> orgs_;
  std::unordered_map<std::string, std::shared_ptr<spawning>> spawning_;
};

/// Fills `dir` with every key in storage (start-up): the key index in 16
/// ranges (store::key_index_bounds), read and recorded in turns by `parts`
/// threads, each on its own connection of `pool`.
void load_keys(directory& dir, storage::connection_pool& pool,
               std::int64_t now_unix, int parts = 2);

} // namespace gatehouse::actors
