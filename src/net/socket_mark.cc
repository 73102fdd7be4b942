#include "net/socket_mark.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace sluice::net {

namespace {
// Written once at start-up, read by every worker: an atomic keeps that well-defined without a
// lock on the request path. 0 with kUnset = no mark.
std::atomic<uint64_t> g_mark{0};
constexpr uint64_t kSet = uint64_t{1} << 32;
}  // namespace

void setOutboundSocketMark(std::optional<uint32_t> mark) {
  g_mark.store(mark ? (kSet | *mark) : 0, std::memory_order_relaxed);
}

std::optional<uint32_t> outboundSocketMark() {
  uint64_t v = g_mark.load(std::memory_order_relaxed);
  if ((v & kSet) == 0) return std::nullopt;
  return static_cast<uint32_t>(v);
}

Status markOutboundSocket(int fd) {
  auto mark = outboundSocketMark();
  if (!mark) return {};
  uint32_t value = *mark;
  if (::setsockopt(fd, SOL_SOCKET, SO_MARK, &value, sizeof value) != 0) {
    int err = errno;
    return makeError(
        ErrorCode::kIo, ErrorSource::kInternal,
        fmt::format("setsockopt(SO_MARK={}): {} (the sidecar needs CAP_NET_ADMIN to mark "
                    "its sockets)",
                    value, std::strerror(err)));
  }
  return {};
}

}  // namespace sluice::net
