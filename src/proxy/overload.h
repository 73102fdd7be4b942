#pragma once
// Overload protection in the spirit of Envoy's overload manager, in two pieces:
//
// - IdleConnections: each worker's HTTP/1.1 downstream connections that wait idle for a request
//   (keep-alive between requests, or new ones before their first byte), oldest idle first. It is
//   what is closed first when a cap is reached: --max-downstream-connections closes the accepting
//   worker's oldest idle connection to make room for a new one (refusing only when that worker has
//   none), and heap overload closes idle ones in batches until the heap is under the cap again.
//   Intrusive: entering and leaving is a few pointer writes, no allocation, no lock; worker thread
//   only.
// - HeapOverload: --overload-max-heap-bytes, Envoy's fixed_heap resource monitor with the
//   stop_accepting_connections and disable_http_keepalive actions. The proxy server samples
//   heapBytesInUse() on its admin thread every kOverloadCheckInterval (never per request) and
//   posts the state to every worker, which refuses new connections, answers with
//   `connection: close` and sheds idle connections while it lasts.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "proxy/byte_stream.h"

namespace sluice::proxy {

inline constexpr std::chrono::milliseconds kOverloadCheckInterval{100};

class IdleConnections {
 public:
  // One connection's place in the list; lives in the connection's state (Downstream).
  struct Entry {
    explicit Entry(ByteStream& s) : socket(&s) {}
    Entry(const Entry&) = delete;
    Entry& operator=(const Entry&) = delete;
    ~Entry() { unlink(); }
    bool linked() const { return list != nullptr; }
    void unlink() {
      if (list != nullptr) list->remove(*this);
    }

    ByteStream* socket;
    IdleConnections* list = nullptr;
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };

  IdleConnections() = default;
  IdleConnections(const IdleConnections&) = delete;
  IdleConnections& operator=(const IdleConnections&) = delete;
  ~IdleConnections();

  // The connection starts waiting idle: it becomes the newest entry.
  void add(Entry& e);
  // It stopped waiting (bytes arrived, closed); a no-op when not listed.
  void remove(Entry& e);
  size_t size() const { return size_; }
  // Closes the sockets of the `n` oldest idle connections (their pending wait completes with an
  // error and the connection's coroutine ends); returns how many were closed.
  size_t closeOldest(size_t n);

 private:
  Entry* head_ = nullptr;  // oldest
  Entry* tail_ = nullptr;  // newest
  size_t size_ = 0;
};

// Bytes the allocator has handed out and not got back: glibc's mallinfo2() (arena bytes in use
// plus mmapped blocks), or the sanitizer allocator's count in an ASan build (where mallinfo2 says
// nothing). Walks the allocator's arenas: called periodically, never per request.
uint64_t heapBytesInUse();

// The heap monitor's state (admin thread only): active from the cap up, inactive again below
// kRecoverPercent of it, so a heap hovering at the cap does not flip the state every check.
class HeapOverload {
 public:
  static constexpr uint64_t kRecoverPercent = 95;
  enum class Change { kNone, kActivated, kDeactivated };

  explicit HeapOverload(uint64_t max_bytes) : max_(max_bytes) {}
  Change update(uint64_t heap_bytes);
  bool active() const { return active_; }
  uint64_t maxBytes() const { return max_; }
  uint64_t lastBytes() const { return last_; }
  uint64_t activations() const { return activations_; }

 private:
  uint64_t max_;
  uint64_t last_ = 0;
  uint64_t activations_ = 0;
  bool active_ = false;
};

}  // namespace sluice::proxy
