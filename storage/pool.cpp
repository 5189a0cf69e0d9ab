#include "storage/pool.hpp"

#include <utility>

namespace gatehouse::storage {

connection_pool::lease::lease(connection_pool* pool,
                              std::unique_ptr<database> db) noexcept
  : pool_(pool), db_(std::move(db)) {}

connection_pool::lease::lease(lease&& other) noexcept
  : pool_(std::exchange(other.pool_, nullptr)), db_(std::move(other.db_)) {}

connection_pool::lease&
connection_pool::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    pool_ = std::exchange(other.pool_, nullptr);
    db_ = std::move(other.db_);
  }
  return *this;
}

connection_pool::lease::~lease() {
  release();
}

void connection_pool::lease::release() noexcept {
  if (pool_ == nullptr || db_ == nullptr)
    return;
  if (db_->in_transaction()) {
    try {
      db_->rollback();
    } catch (...) {
      // A connection that cannot roll back is reported broken below or
      // fails its next statement; either way nothing was committed.
    }
  }
  pool_->give_back(std::move(db_));
  pool_ = nullptr;
}

connection_pool::connection_pool(std::string url, std::size_t size)
  : url_(std::move(url)), size_(size == 0 ? 1 : size) {
  idle_.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i)
    idle_.push_back(open_database(url_));
  open_ = size_;
}

connection_pool::~connection_pool() = default;

connection_pool::lease connection_pool::acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [this] { return !idle_.empty() || open_ < size_; });
  return take(lock);
}

std::optional<connection_pool::lease>
connection_pool::try_acquire_for(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!available_.wait_for(lock, timeout,
                           [this] { return !idle_.empty() || open_ < size_; }))
    return std::nullopt;
  return take(lock);
}

connection_pool::lease
connection_pool::take(std::unique_lock<std::mutex>& lock) {
  while (!idle_.empty()) {
    auto db = std::move(idle_.back());
    idle_.pop_back();
    if (db->is_open())
      return lease(this, std::move(db));
    // Broken: its slot is free again (closed here, under the lock, so the
    // count stays exact).
    --open_;
  }
  // An empty slot: open a replacement outside the lock.
  ++open_;
  lock.unlock();
  try {
    return lease(this, open_database(url_));
  } catch (...) {
    lock.lock();
    --open_;
    lock.unlock();
    available_.notify_one();
    throw;
  }
}

void connection_pool::give_back(std::unique_ptr<database> db) noexcept {
  {
    std::lock_guard<std::mutex> guard(mutex_);
    if (db->is_open()) {
      idle_.push_back(std::move(db));
    } else {
      --open_;
    }
  }
  // A broken connection is closed outside the lock.
  db.reset();
  available_.notify_one();
}

} // namespace gatehouse::storage
