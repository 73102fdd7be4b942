#pragma once
// A deadline on a socket's pending operations (connect timeouts, route / per-try timeouts, the
// transparent listener's sniffing wait). At expiry the socket's operations are cancelled (and,
// with Expiry::kClose, the socket closed so no later operation on it can hang). The expiry
// handler may already be queued when the coroutine disarms the timer and moves on, so the state
// it touches is shared with it and the socket is reached only while still armed.

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <memory>

namespace sluice::proxy {

class SocketTimer {
 public:
  enum class Expiry { kCancel, kClose };

  explicit SocketTimer(const asio::any_io_executor& executor) : timer_(executor) {}
  ~SocketTimer() { disarm(); }
  SocketTimer(const SocketTimer&) = delete;
  SocketTimer& operator=(const SocketTimer&) = delete;

  // (Re)arms: `socket` is cancelled (or closed) at `deadline` unless disarmed first.
  // `Socket`: asio::ip::tcp::socket or ByteStream (proxy/byte_stream.h).
  template <typename Socket>
  void arm(std::chrono::steady_clock::time_point deadline, Socket& socket,
           Expiry expiry = Expiry::kClose) {
    disarm();
    state_ = std::make_shared<State>();
    state_->socket = &socket;
    timer_.expires_at(deadline);
    timer_.async_wait([st = state_, expiry](asio::error_code e) {
      if (e || st->socket == nullptr) return;
      st->fired = true;
      auto* s = static_cast<Socket*>(st->socket);
      asio::error_code ignored;
      s->cancel(ignored);
      if (expiry == Expiry::kClose) s->close(ignored);
    });
  }
  void disarm() {
    if (state_ && state_->socket != nullptr) {
      state_->socket = nullptr;
      timer_.cancel();
    }
  }
  // The last arming expired (stays true after disarm, until the next arm).
  bool fired() const { return state_ && state_->fired; }

 private:
  struct State {
    bool fired = false;
    void* socket = nullptr;  // the armed Socket
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

}  // namespace sluice::proxy
