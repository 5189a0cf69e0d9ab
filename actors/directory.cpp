#include "actors/directory.hpp"

#include <algorithm>
#include <cstring>
#include <future>
#include <new>
#include <thread>

#include <sys/mman.h>

#include "storage/pool.hpp"
#include "storage/records.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

/// Lowercase hex digit values; -1 for every other byte.
struct hex_table {
  signed char v[256];
  constexpr hex_table() : v() {
    for (int c = 0; c < 256; ++c)
      v[c] = c >= '0' && c <= '9'   ? static_cast<signed char>(c - '0')
             : c >= 'a' && c <= 'f' ? static_cast<signed char>(c - 'a' + 10)
                                    : -1;
  }
};
constexpr hex_table hex_digits;

int hex_value(char c) {
  return hex_digits.v[static_cast<unsigned char>(c)];
}

} // namespace

std::size_t directory::digest_hash::operator()(const digest& d) const noexcept {
  // The bytes of a SHA-256 are uniform: the first eight are the hash code.
  std::size_t h = 0;
  for (int i = 0; i < 8; ++i)
    h = (h << 8) | d[i];
  return h;
}

std::optional<directory::digest>
directory::parse_digest(const std::string& hex) {
  if (hex.size() != 64)
    return std::nullopt;
  digest d;
  for (std::size_t i = 0; i < d.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    d[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return d;
}

directory::key_shard& directory::shard_of(std::size_t code) const {
  return keys_[(code >> 48) % shard_count];
}

// -- key table ----------------------------------------------------------------

namespace {

/// Most slots in use before the table grows (linear probing stays short
/// below).
constexpr double max_load = 0.75;
/// Slots in use after growing or reserving.
constexpr double fill_load = 0.6;

} // namespace

directory::key_table::~key_table() {
  release(slots_, capacity_);
}

directory::key_table::slot* directory::key_table::allocate(std::size_t n) {
  // Fresh anonymous pages are zero, that is free slots, and are touched
  // only when used.
  void* p = ::mmap(nullptr, n * sizeof(slot), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw std::bad_alloc();
  return static_cast<slot*>(p);
}

void directory::key_table::release(slot* slots, std::size_t n) {
  if (slots)
    ::munmap(slots, n * sizeof(slot));
}

std::size_t directory::key_table::home(const digest& d) const {
  // Bytes 8 to 15: the first eight chose the shard. A digest is uniform,
  // so the product's high half is an even spread over the slots.
  std::uint64_t h;
  std::memcpy(&h, d.data() + 8, sizeof h);
  return static_cast<std::size_t>(
    (static_cast<unsigned __int128>(h) * capacity_) >> 64);
}

std::optional<directory::org_index>
directory::key_table::find(const digest& d) const {
  if (size_ == 0)
    return std::nullopt;
  for (std::size_t i = home(d);; i = i + 1 == capacity_ ? 0 : i + 1) {
    const auto& s = slots_[i];
    if (s.org_plus_one == 0)
      return std::nullopt;
    if (s.d == d)
      return s.org_plus_one - 1;
  }
}

void directory::key_table::put(const digest& d, org_index org) {
  if (static_cast<double>(size_ + 1) > max_load * capacity_)
    rehash(static_cast<std::size_t>((size_ + 1) / fill_load) + 1);
  for (std::size_t i = home(d);; i = i + 1 == capacity_ ? 0 : i + 1) {
    auto& s = slots_[i];
    if (s.org_plus_one == 0) {
      s.d = d;
      s.org_plus_one = org + 1;
      ++size_;
      return;
    }
    if (s.d == d) {
      s.org_plus_one = org + 1;
      return;
    }
  }
}

void directory::key_table::erase(const digest& d) {
  if (size_ == 0)
    return;
  const std::size_t n = capacity_;
  auto next = [n](std::size_t i) { return i + 1 == n ? 0 : i + 1; };
  std::size_t hole = home(d);
  for (;; hole = next(hole)) {
    if (slots_[hole].org_plus_one == 0)
      return;
    if (slots_[hole].d == d)
      break;
  }
  --size_;
  // Shift back every later entry of the run that may move into the hole:
  // one whose home is not cyclically within (hole, j].
  for (std::size_t j = next(hole);; j = next(j)) {
    if (slots_[j].org_plus_one == 0)
      break;
    const std::size_t h = home(slots_[j].d);
    const bool stays = hole <= j ? hole < h && h <= j : hole < h || h <= j;
    if (!stays) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole].org_plus_one = 0;
}

void directory::key_table::reserve(std::size_t n) {
  if (static_cast<double>(n) > max_load * capacity_)
    rehash(static_cast<std::size_t>(n / fill_load) + 1);
}

void directory::key_table::rehash(std::size_t capacity) {
  slot* old = slots_;
  const std::size_t old_capacity = capacity_;
  slots_ = allocate(capacity);
  capacity_ = capacity;
  size_ = 0;
  for (std::size_t i = 0; i < old_capacity; ++i)
    if (old[i].org_plus_one != 0)
      put(old[i].d, old[i].org_plus_one - 1);
  release(old, old_capacity);
}

std::optional<directory::id_index::uuid>
directory::id_index::parse(const std::string& id) {
  if (id.size() != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-'
      || id[23] != '-')
    return std::nullopt;
  uuid u{0, 0};
  int n = 0;
  for (std::size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      continue;
    const int v = hex_value(id[i]);
    if (v < 0)
      return std::nullopt;
    auto& half = u[n++ / 16];
    half = half << 4 | static_cast<std::uint64_t>(v);
  }
  return u;
}

std::size_t directory::id_index::home(const uuid& u) const {
  // Ids may share most of their bits (time-ordered ones do): mixed first.
  std::uint64_t h = u[0] * 0x9e3779b97f4a7c15ULL ^ u[1];
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ULL;
  h ^= h >> 32;
  return static_cast<std::size_t>(h) & (slots_.size() - 1);
}

std::optional<directory::org_index>
directory::id_index::find(const std::string& id) const {
  auto u = parse(id);
  if (!u) {
    auto i = text_.find(id);
    return i == text_.end() ? std::nullopt : std::optional{i->second};
  }
  if (size_ == 0)
    return std::nullopt;
  for (std::size_t i = home(*u);; i = (i + 1) & (slots_.size() - 1)) {
    const auto& s = slots_[i];
    if (s.plus_one == 0)
      return std::nullopt;
    if (s.u == *u)
      return s.plus_one - 1;
  }
}

void directory::id_index::insert(const std::string& id, org_index idx) {
  auto u = parse(id);
  if (!u) {
    text_.emplace(id, idx);
    return;
  }
  if (2 * (size_ + 1) > slots_.size()) {
    std::vector<slot> old(std::max<std::size_t>(16, 2 * slots_.size()),
                          slot{uuid{0, 0}, 0});
    old.swap(slots_);
    for (const auto& s : old)
      if (s.plus_one != 0)
        for (std::size_t i = home(s.u);; i = (i + 1) & (slots_.size() - 1))
          if (slots_[i].plus_one == 0) {
            slots_[i] = s;
            break;
          }
  }
  for (std::size_t i = home(*u);; i = (i + 1) & (slots_.size() - 1))
    if (slots_[i].plus_one == 0) {
      slots_[i] = slot{*u, idx + 1};
      ++size_;
      return;
    }
}

directory::org_index directory::intern(const std::string& org_id) {
  {
    std::shared_lock guard{ids_mtx_};
    if (auto i = index_of_.find(org_id))
      return *i;
  }
  std::unique_lock guard{ids_mtx_};
  if (auto i = index_of_.find(org_id))
    return *i;
  const auto idx = static_cast<org_index>(org_ids_.size());
  index_of_.insert(org_id, idx);
  org_ids_.push_back(org_id);
  return idx;
}

std::string directory::org_id_at(org_index i) const {
  std::shared_lock guard{ids_mtx_};
  return org_ids_[i];
}

void directory::add_key(const std::string& key_hash,
                        const std::string& org_id) {
  auto idx = intern(org_id);
  if (auto d = parse_digest(key_hash)) {
    auto& s = shard_of(digest_hash{}(*d));
    std::unique_lock guard{s.mtx};
    s.by_digest.put(*d, idx);
    return;
  }
  auto& s = shard_of(std::hash<std::string>{}(key_hash));
  std::unique_lock guard{s.mtx};
  s.by_text[key_hash] = idx;
}

void directory::remove_key(const std::string& key_hash) {
  if (auto d = parse_digest(key_hash)) {
    auto& s = shard_of(digest_hash{}(*d));
    std::unique_lock guard{s.mtx};
    s.by_digest.erase(*d);
    return;
  }
  auto& s = shard_of(std::hash<std::string>{}(key_hash));
  std::unique_lock guard{s.mtx};
  s.by_text.erase(key_hash);
}

std::optional<std::string>
directory::org_of_key(const std::string& key_hash) const {
  std::optional<org_index> idx;
  if (auto d = parse_digest(key_hash)) {
    auto& s = shard_of(digest_hash{}(*d));
    std::shared_lock guard{s.mtx};
    idx = s.by_digest.find(*d);
  } else {
    auto& s = shard_of(std::hash<std::string>{}(key_hash));
    std::shared_lock guard{s.mtx};
    if (auto i = s.by_text.find(key_hash); i != s.by_text.end())
      idx = i->second;
  }
  if (!idx)
    return std::nullopt;
  return org_id_at(*idx);
}

std::size_t directory::key_count() const {
  std::size_t n = 0;
  for (auto& s : keys_) {
    std::shared_lock guard{s.mtx};
    n += s.by_digest.size() + s.by_text.size();
  }
  return n;
}

void directory::reserve_keys(std::size_t n) {
  // A little over an even share: shards differ by a few per mille.
  const std::size_t share = n / shard_count + n / (8 * shard_count) + 16;
  for (auto& s : keys_) {
    std::unique_lock guard{s.mtx};
    s.by_digest.reserve(s.by_digest.size() + share);
  }
}

void directory::add_keys(const std::vector<storage::key_index_entry>& index,
                         std::size_t expected) {
  // Org ids first, under one lock: consecutive keys often share one.
  std::vector<org_index> orgs(index.size());
  {
    std::unique_lock guard{ids_mtx_};
    const std::string* last = nullptr;
    org_index last_idx = 0;
    for (std::size_t i = 0; i < index.size(); ++i) {
      const auto& id = index[i].org_id;
      if (!last || *last != id) {
        auto found = index_of_.find(id);
        if (!found) {
          found = static_cast<org_index>(org_ids_.size());
          index_of_.insert(id, *found);
          org_ids_.push_back(id);
        }
        last = &id;
        last_idx = *found;
      }
      orgs[i] = last_idx;
    }
  }
  // Then each shard under its lock, taken once: the keys sorted by shard
  // first, parsed.
  struct parsed {
    digest d;
    org_index org;
  };
  std::array<std::vector<parsed>, shard_count> by_shard;
  std::array<std::vector<std::size_t>, shard_count> texts; // not hex
  for (auto& v : by_shard)
    v.reserve(index.size() / shard_count + index.size() / 64 + 16);
  for (std::size_t i = 0; i < index.size(); ++i) {
    const auto& hash = index[i].key_hash;
    if (auto d = parse_digest(hash))
      by_shard[(digest_hash{}(*d) >> 48) % shard_count].push_back(
        {*d, orgs[i]});
    else
      texts[(std::hash<std::string>{}(hash) >> 48) % shard_count].push_back(i);
  }
  // Threads adding at once mostly start on different shards.
  const std::size_t first
    = std::hash<std::thread::id>{}(std::this_thread::get_id()) % shard_count;
  for (std::size_t n = 0; n < shard_count; ++n) {
    const std::size_t k = (first + n) % shard_count;
    auto& s = keys_[k];
    std::unique_lock guard{s.mtx};
    s.by_digest.reserve(std::max(s.by_digest.size() + by_shard[k].size(),
                                 expected / shard_count * 9 / 8));
    for (const auto& p : by_shard[k])
      s.by_digest.put(p.d, p.org);
    for (auto i : texts[k])
      s.by_text[index[i].key_hash] = orgs[i];
  }
}

void load_keys(directory& dir, storage::connection_pool& pool,
               std::int64_t now_unix, int parts) {
  // The index in 16 ranges, read in turns by `parts` threads: a range at a
  // time keeps what reading takes small (memory freed by one range serves
  // the next instead of fresh pages).
  constexpr int ranges = 16;
  std::vector<std::string> bounds;
  {
    auto lease = pool.acquire();
    bounds = storage::store{*lease}.key_index_bounds(ranges);
  }
  auto load = [&](int part) {
    auto lease = pool.acquire();
    storage::store st{*lease};
    for (int range = part; range < ranges; range += parts) {
      auto index = st.load_key_index(now_unix, bounds, range);
      dir.add_keys(index, index.size() * ranges);
    }
  };
  // A part that fails fails the start-up, after the others are done.
  std::vector<std::future<void>> others;
  for (int part = 1; part < parts; ++part)
    others.push_back(std::async(std::launch::async, load, part));
  load(0);
  for (auto& f : others)
    f.get();
}

org_actor directory::find_org(const std::string& org_id) const {
  std::shared_lock guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  return i == orgs_.end() ? org_actor{} : i->second->hdl;
}

org_actor directory::get_or_spawn(const std::string& org_id,
                                  const std::function<org_actor()>& make) {
  if (auto found = find_org(org_id))
    return found;
  std::shared_ptr<spawning> mine;
  {
    std::unique_lock guard{orgs_mtx_};
    if (auto i = orgs_.find(org_id); i != orgs_.end() && i->second->hdl)
      return i->second->hdl;
    if (auto i = spawning_.find(org_id); i != spawning_.end()) {
      // Another caller is making this org's actor: wait for it.
      auto other = i->second;
      other->ready.wait(guard, [&] { return other->done; });
      return other->result;
    }
    mine = std::make_shared<spawning>();
    spawning_.emplace(org_id, mine);
  }
  // Whatever happens, the waiters learn the outcome and the marker goes.
  auto finish = [&](org_actor result) {
    std::unique_lock guard{orgs_mtx_};
    if (result) {
      // The actor may have published its first view already.
      auto& e = orgs_[org_id];
      if (!e)
        e = std::make_unique<org_entry>();
      e->hdl = result;
    }
    spawning_.erase(org_id);
    mine->result = result;
    mine->done = true;
    mine->ready.notify_all();
  };
  org_actor fresh;
  try {
    fresh = make();
  } catch (...) {
    finish({});
    throw;
  }
  finish(fresh);
  return fresh;
}

org_hold directory::take(org_entry& e, std::int64_t now_s) {
  e.acquired.fetch_add(1, std::memory_order_acq_rel);
  // Most holds of a busy org fall in the same second: read before writing
  // so that they do not all dirty the line.
  if (e.last_used_s.load(std::memory_order_relaxed) < now_s)
    e.last_used_s.store(now_s, std::memory_order_relaxed);
  return org_hold{e.hdl, e.view, &e.released};
}

org_hold directory::hold(const std::string& org_id, std::int64_t now_s) {
  std::shared_lock guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  if (i == orgs_.end() || !i->second->hdl)
    return {};
  return take(*i->second, now_s);
}

org_hold directory::hold_or_spawn(const std::string& org_id, std::int64_t now_s,
                                  const std::function<org_actor()>& make) {
  // An actor that retires between the spawn and the hold is made again.
  for (;;) {
    if (auto h = hold(org_id, now_s))
      return h;
    if (!get_or_spawn(org_id, make))
      return {};
  }
}

org_hold directory::held(const std::string& org_id) const {
  std::shared_lock guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  if (i == orgs_.end())
    return {};
  auto& e = *i->second;
  return org_hold{e.hdl, e.view, &e.released};
}

std::vector<idle_org> directory::idle_orgs(std::int64_t before_s) const {
  std::vector<idle_org> out;
  std::shared_lock guard{orgs_mtx_};
  for (auto& [id, e] : orgs_) {
    if (!e->hdl || e->last_used_s.load(std::memory_order_relaxed) >= before_s)
      continue;
    // Released first: a hold taken between the two reads shows up as
    // acquired > released.
    auto released = e->released.load(std::memory_order_acquire);
    auto acquired = e->acquired.load(std::memory_order_acquire);
    if (acquired == released)
      out.push_back(idle_org{id, e->hdl, acquired});
  }
  return out;
}

bool directory::retire(const std::string& org_id, const org_actor& hdl,
                       std::uint64_t uses) {
  std::unique_lock guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  if (i == orgs_.end() || i->second->hdl != hdl)
    return false;
  auto& e = *i->second;
  // Holds are taken under the shared lock, so none can start now.
  if (e.acquired.load() != uses || e.released.load() != uses)
    return false;
  orgs_.erase(i);
  return true;
}

void directory::publish(const std::string& org_id,
                        std::shared_ptr<const org_view> view) {
  std::unique_lock guard{orgs_mtx_};
  auto& e = orgs_[org_id];
  if (!e)
    e = std::make_unique<org_entry>();
  e->view = std::move(view);
}

std::shared_ptr<const org_view>
directory::view_of(const std::string& org_id) const {
  std::shared_lock guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  return i == orgs_.end() ? nullptr : i->second->view;
}

std::vector<org_actor> directory::all_orgs() const {
  std::shared_lock guard{orgs_mtx_};
  std::vector<org_actor> out;
  for (auto& [id, e] : orgs_)
    if (e->hdl)
      out.push_back(e->hdl);
  return out;
}

std::size_t directory::live_orgs() const {
  std::shared_lock guard{orgs_mtx_};
  std::size_t n = 0;
  for (auto& [id, e] : orgs_)
    n += e->hdl ? 1 : 0;
  return n;
}

} // namespace gatehouse::actors
