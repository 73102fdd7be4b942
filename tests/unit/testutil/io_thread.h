#pragma once
// An io_context run by a thread of its own, for in-process servers and clients in tests.
//
//   testutil::IoThread io_;           // declare before what runs on it
//   Server server_{io_.io()};
//   ...  io_.start();                 // after the server is listening
//   ~Fixture() { io_.stop([this] { server_.stop(); }); }

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <functional>
#include <future>
#include <thread>

namespace sluice::testutil {

class IoThread {
 public:
  IoThread() = default;
  ~IoThread() { stop(); }
  IoThread(const IoThread&) = delete;
  IoThread& operator=(const IoThread&) = delete;

  asio::io_context& io() { return io_; }
  // Starts the thread running io(). Once.
  void start();
  // Runs `f` on the io thread, waits for it and returns what it returned. Only while started.
  template <typename F>
  auto call(F f) -> decltype(f()) {
    std::promise<decltype(f())> done;
    asio::post(io_, [&] {
      if constexpr (std::is_void_v<decltype(f())>) {
        f();
        done.set_value();
      } else {
        done.set_value(f());
      }
    });
    return done.get_future().get();
  }
  // Runs `last` on the io thread (to stop what runs there), then stops the io_context and joins.
  // Idempotent; a no-op when not started.
  void stop(const std::function<void()>& last = {});

 private:
  asio::io_context io_;
  std::thread thread_;
};

}  // namespace sluice::testutil
