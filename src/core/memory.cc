#include "core/memory.h"

#include <malloc.h>

#include <algorithm>

namespace sluice::core {

void limitMallocArenas(int worker_threads) {
  mallopt(M_ARENA_MAX, std::max(1, worker_threads) + 1);
}

void releaseFreeMemory() { malloc_trim(0); }

}  // namespace sluice::core
