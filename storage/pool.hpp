#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace gatehouse::storage {

/// A fixed number of connections to one database, shared between threads.
/// Each connection is used by one thread at a time through a lease. A
/// connection found broken is replaced by a fresh one on a later acquire.
class connection_pool {
public:
  /// Exclusive use of one connection; gives it back on destruction (rolling
  /// back a transaction left open).
  class lease {
  public:
    lease(lease&& other) noexcept;
    lease& operator=(lease&& other) noexcept;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease();

    /// The leased connection.
    database& operator*() const noexcept {
      return *db_;
    }

    /// The leased connection.
    database* operator->() const noexcept {
      return db_.get();
    }

  private:
    friend class connection_pool;
    lease(connection_pool* pool, std::unique_ptr<database> db) noexcept;
    void release() noexcept;

    connection_pool* pool_;
    std::unique_ptr<database> db_;
  };

  /// Opens `size` (at least 1) connections to `url` at once, so that a bad
  /// URL or an unreachable server fails here. Throws storage_error.
  connection_pool(std::string url, std::size_t size);

  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  /// Closes the idle connections. Every lease must be gone by then.
  ~connection_pool();

  /// Waits until a connection is free and leases it. Throws storage_error
  /// when a replacement for a broken connection cannot be opened.
  lease acquire();

  /// Like acquire(), but gives up after `timeout`.
  std::optional<lease> try_acquire_for(std::chrono::milliseconds timeout);

  /// The URL the pool connects to.
  const std::string& url() const noexcept {
    return url_;
  }

  /// The number of connections the pool holds at most.
  std::size_t size() const noexcept {
    return size_;
  }

private:
  /// Takes a free connection, or opens one when a slot is empty; the lock
  /// is held on entry and released while opening.
  lease take(std::unique_lock<std::mutex>& lock);
  void give_back(std::unique_ptr<database> db) noexcept;

  const std::string url_;
  const std::size_t size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<database>> idle_;
  std::size_t open_ = 0; // idle plus leased plus being opened
};

} // namespace gatehouse::storage
