#pragma once
// Keeping the process's resident memory close to its live heap. glibc's malloc gives every thread
// that contends for an arena a new one (up to 8 per core) and keeps freed memory inside each arena
// for reuse. A proxy builds a large immutable snapshot on its control thread and frees the previous
// one from its worker threads whenever the mesh changes; with a big mesh that left the resident
// set at 3-5x the live heap (bench/large_mesh.mjs: 180 MiB RSS for a 39 MiB heap). Capping the
// arenas and handing free pages back after a snapshot change brings it to about the heap's size,
// without a second allocator as a dependency.

namespace sluice::core {

// Caps malloc's arenas: one per worker thread (so workers never wait on each other's arena lock on
// the request path) plus one for everything else. Call before any thread is started; safe to call
// more than once (the last call wins).
void limitMallocArenas(int worker_threads);

// Returns the free pages of every arena to the kernel (malloc_trim). It takes each arena's lock
// briefly: call it off the request path, after a large structure was freed, not per request.
void releaseFreeMemory();

}  // namespace sluice::core
