#include "proxy/overload.h"

#include <malloc.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLUICE_ASAN_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLUICE_ASAN_ALLOCATOR 1
#endif
#endif

#ifdef SLUICE_ASAN_ALLOCATOR
// From the sanitizer runtime (sanitizer/allocator_interface.h, which GCC 12 does not ship).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace sluice::proxy {

IdleConnections::~IdleConnections() {
  while (head_ != nullptr) remove(*head_);
}

void IdleConnections::add(Entry& e) {
  if (e.list == this) return;
  e.unlink();
  e.list = this;
  e.prev = tail_;
  e.next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = &e;
  } else {
    head_ = &e;
  }
  tail_ = &e;
  ++size_;
}

void IdleConnections::remove(Entry& e) {
  if (e.list != this) return;
  if (e.prev != nullptr) {
    e.prev->next = e.next;
  } else {
    head_ = e.next;
  }
  if (e.next != nullptr) {
    e.next->prev = e.prev;
  } else {
    tail_ = e.prev;
  }
  e.list = nullptr;
  e.prev = e.next = nullptr;
  --size_;
}

size_t IdleConnections::closeOldest(size_t n) {
  size_t closed = 0;
  while (closed < n && head_ != nullptr) {
    Entry& e = *head_;
    remove(e);
    asio::error_code ignored;
    e.socket->close(ignored);
    ++closed;
  }
  return closed;
}

uint64_t heapBytesInUse() {
#ifdef SLUICE_ASAN_ALLOCATOR
  return __sanitizer_get_current_allocated_bytes();
#else
  struct mallinfo2 mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

HeapOverload::Change HeapOverload::update(uint64_t heap_bytes) {
  last_ = heap_bytes;
  if (max_ == 0) return Change::kNone;
  if (!active_ && heap_bytes >= max_) {
    active_ = true;
    ++activations_;
    return Change::kActivated;
  }
  if (active_ && heap_bytes < max_ / 100 * kRecoverPercent) {
    active_ = false;
    return Change::kDeactivated;
  }
  return Change::kNone;
}

}  // namespace sluice::proxy
