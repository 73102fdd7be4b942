#include "net/socket_owner.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::net {

namespace {

// The local_address column of /proc/net/tcp{,6}: each 32-bit word of the address as the kernel
// holds it (network byte order) printed as a native integer, then the port.
std::string procAddress(const unsigned char* bytes, size_t len, uint16_t port) {
  std::string out;
  for (size_t i = 0; i < len; i += 4) {
    uint32_t word;
    std::memcpy(&word, bytes + i, 4);
    out += fmt::format("{:08X}", word);
  }
  return out + fmt::format(":{:04X}", port);
}

// The inode of the socket whose local address is `address` in `table`, or "".
std::string inodeOf(const char* table, const std::string& address) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
      continue;
    }
    if (local == address && inode != "0") return inode;
  }
  return {};
}

}  // namespace

bool peerSocketIsOurs(const std::string& ip, uint16_t port) {
  std::string inode;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) {
    inode =
        inodeOf("/proc/net/tcp", procAddress(reinterpret_cast<const unsigned char*>(&v4), 4, port));
  } else if (inet_pton(AF_INET6, ip.c_str(), &v6) == 1) {
    inode = inodeOf("/proc/net/tcp6", procAddress(v6.s6_addr, 16, port));
  }
  if (inode.empty()) return false;
  const std::string want = "socket:[" + inode + "]";
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  bool ours = false;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[64];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    if (want.compare(0, std::string::npos, target, static_cast<size_t>(n)) == 0) {
      ours = true;
      break;
    }
  }
  closedir(dir);
  return ours;
}

}  // namespace sluice::net
