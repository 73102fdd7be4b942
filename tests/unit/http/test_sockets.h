#pragma once
// Blocking loopback sockets for the HTTP server/client tests: a raw client that sends exact bytes
// and a one-shot canned server that answers with exact bytes. Every read is bounded by
// SO_RCVTIMEO so a broken test fails instead of hanging.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include "http/codec.h"

namespace sluice::http::testing {

inline void setRecvTimeout(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

class RawClient {
 public:
  explicit RawClient(uint16_t port, int timeout_ms = 5000) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    setRecvTimeout(fd_, timeout_ms);
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (head + Content-Length body). Returns false on EOF/timeout/bad bytes.
  bool readResponse(ResponseHead& head, std::string& body, bool request_was_head = false) {
    ResponseHeadParser parser;
    for (int i = 0; i < 1000; ++i) {
      HeadResult r = parser.parse(buf_, head, request_was_head);
      if (r.status == ParseStatus::kError) return false;
      if (r.status == ParseStatus::kComplete) {
        buf_.erase(0, r.consumed);
        size_t length = r.framing.kind == BodyKind::kContentLength ? r.framing.length : 0;
        for (int j = 0; j < 1000 && buf_.size() < length; ++j) {
          if (!fill()) return false;
        }
        if (buf_.size() < length) return false;
        body = buf_.substr(0, length);
        buf_.erase(0, length);
        return true;
      }
      if (!fill()) return false;
    }
    return false;
  }

  // True when the peer closed the connection (recv returns 0) before the timeout, with no more
  // bytes than those already buffered.
  bool readEof() {
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0;
  }

  const std::string& buffered() const { return buf_; }

 private:
  bool fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

// Accepts one connection, reads the request head, answers `reply` (if `answer`), then waits for
// the client to close (bounded) and closes. `request` holds what was received.
class CannedServer {
 public:
  CannedServer(std::string reply, bool answer = true) : reply_(std::move(reply)), answer_(answer) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 4);
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CannedServer() {
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  // What the client sent; waits for the server thread to finish (it ends when the client closes).
  const std::string& request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  void run() {
    setRecvTimeout(listen_fd_, 5000);
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    setRecvTimeout(fd, 5000);
    char chunk[4096];
    for (int i = 0; i < 1000 && request_.find("\r\n\r\n") == std::string::npos; ++i) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      request_.append(chunk, static_cast<size_t>(n));
    }
    if (answer_) {
      ::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
      ::shutdown(fd, SHUT_WR);
    }
    for (int i = 0; i < 1000; ++i) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      request_.append(chunk, static_cast<size_t>(n));
    }
    ::close(fd);
  }

  std::string reply_;
  bool answer_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::string request_;
  std::thread thread_;
};

}  // namespace sluice::http::testing
