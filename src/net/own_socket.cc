#include "net/own_socket.h"

#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

namespace sluice::net {
namespace {

// /proc/net/tcp writes an address as the bytes of the in-memory (network order) address, each
// 32-bit word printed as a host-order (little-endian here) hex number, then ":PORT" in hex.
std::string procAddress(const asio::ip::tcp::endpoint& ep) {
  std::string out;
  auto words = [&out](const unsigned char* bytes, size_t n) {
    for (size_t i = 0; i < n; i += 4) {
      out += fmt::format("{:02X}{:02X}{:02X}{:02X}", bytes[i + 3], bytes[i + 2], bytes[i + 1],
                         bytes[i]);
    }
  };
  if (ep.address().is_v4()) {
    auto b = ep.address().to_v4().to_bytes();
    words(b.data(), b.size());
  } else {
    auto b = ep.address().to_v6().to_bytes();
    words(b.data(), b.size());
  }
  out += fmt::format(":{:04X}", ep.port());
  return out;
}

// The inode of the live socket whose local address is `address` in `table`, or "" when none.
std::string inodeOf(const char* table, const std::string& address) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
    std::array<std::string, 10> f;
    size_t pos = 0;
    bool ok = true;
    for (auto& field : f) {
      pos = line.find_first_not_of(' ', pos);
      if (pos == std::string::npos) {
        ok = false;
        break;
      }
      size_t end = line.find(' ', pos);
      field = line.substr(pos, end - pos);
      pos = end;
    }
    // Inode 0: a socket no process owns any more (TIME_WAIT) that used the same address before.
    if (ok && f[1] == address && f[9] != "0") return f[9];
  }
  return {};
}

}  // namespace

bool isOwnSocket(const asio::ip::tcp::endpoint& peer) {
  std::string inode =
      inodeOf(peer.address().is_v4() ? "/proc/net/tcp" : "/proc/net/tcp6", procAddress(peer));
  if (inode.empty() && peer.address().is_v4()) {
    // A dual-stack socket (grpc++ opens AF_INET6 ones) connected to an IPv4 address is listed in
    // tcp6 under the v4-mapped address.
    asio::ip::tcp::endpoint mapped(
        asio::ip::make_address_v6(asio::ip::v4_mapped, peer.address().to_v4()), peer.port());
    inode = inodeOf("/proc/net/tcp6", procAddress(mapped));
  }
  if (inode.empty() || inode == "0") return false;
  std::string want = "socket:[" + inode + "]";
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool found = false;
  std::array<char, 64> target;
  while (!found) {
    dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    if (e->d_name[0] == '.') continue;
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
    found = n > 0 && std::string_view(target.data(), static_cast<size_t>(n)) == want;
  }
  ::closedir(dir);
  return found;
}

}  // namespace sluice::net
