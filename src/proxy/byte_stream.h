#pragma once
// The byte stream the request path reads and writes (downstream and upstream): a TCP socket, or
// one end of a worker-local in-memory duplex stream (ByteStream::localPair: no fd, no epoll
// registration, no syscall). The request path itself no longer uses a local pair: HTTP/2 on
// either side is driven through its session (proxy/downstream_stream.h, proxy/upstream_stream.h).
//
// The member API is the subset of asio::ip::tcp::socket the request path uses, with the socket's
// semantics, so asio::async_write and the phases take either kind unchanged:
//   async_read_some   completes with the bytes the other end wrote (up to the buffers' size), or
//                     asio::error::eof once the other end shut down sending or closed and every
//                     byte was read;
//   async_write_some  completes once some bytes fit into the other end's receive buffer, at most
//                     `capacity` bytes unread: a slow reader stops the writer (flow control);
//                     asio::error::broken_pipe when the other end closed or this one shut down
//                     sending;
//   async_wait        (wait_read only) completes when bytes or the end can be read;
//   cancel            completes this end's pending operations with operation_aborted;
//   close             cancels, drops the unread bytes; the other end reads EOF and its writes fail
//                     with broken_pipe;
//   shutdown          shutdown_send (or both): the other end reads EOF after the bytes written.
// Operations on a closed end fail with asio::error::bad_descriptor. A completion is never invoked
// from inside the initiating call (it is posted), as with a socket.
//
// Threads and ownership: a local pair belongs to one executor (the worker's io_context) and both
// ends are used only on its thread; no locks. Each end shares ownership of the pair's state, which
// lives until both ends and every pending operation are gone. A pending operation waits on a
// timer of the pair, so it is outstanding work of the io_context and is destroyed with it.

#include <algorithm>
#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>

namespace sluice::proxy {

namespace detail {

// State of a local pair: what each end has to read. Worker thread only.
struct LocalPipe {
  struct End {
    explicit End(const asio::any_io_executor& ex) : readable(ex), writable(ex) {}
    std::string in;  // bytes the other end wrote; [in_off, size) not yet read
    size_t in_off = 0;
    bool peer_done = false;  // the other end shut down sending or closed: EOF after `in`
    bool send_done = false;  // this end shut down sending
    bool closed = false;
    int readers = 0;  // pending read / wait operations of this end
    int writers = 0;  // pending write operations of this end
    bool abort_read = false;
    bool abort_write = false;
    asio::steady_timer readable;  // woken when `in` grows or the other end finishes
    asio::steady_timer writable;  // woken when the other end read (room) or closed
    size_t unread() const { return in.size() - in_off; }
  };
  LocalPipe(const asio::any_io_executor& ex, size_t cap)
      : ex(ex), capacity(cap), ends{End(ex), End(ex)} {}
  asio::any_io_executor ex;
  size_t capacity;
  End ends[2];

  static void wake(asio::steady_timer& t) { t.cancel(); }
  static void park(asio::steady_timer& t) { t.expires_at(asio::steady_timer::time_point::max()); }

  // Copies what `buffers` can take of end `side`'s unread bytes; wakes the other end's writer.
  template <typename Buffers>
  size_t take(int side, const Buffers& buffers) {
    End& e = ends[side];
    size_t n = asio::buffer_copy(buffers, asio::buffer(e.in.data() + e.in_off, e.unread()));
    e.in_off += n;
    if (e.in_off == e.in.size()) {
      e.in.clear();
      e.in_off = 0;
    } else if (e.in_off > capacity) {
      e.in.erase(0, e.in_off);
      e.in_off = 0;
    }
    if (n > 0) wake(ends[1 - side].writable);
    return n;
  }
  // Copies what fits of `buffers` into the other end's unread bytes; wakes its reader.
  template <typename Buffers>
  size_t put(int side, const Buffers& buffers) {
    End& peer = ends[1 - side];
    size_t room = capacity > peer.unread() ? capacity - peer.unread() : 0;
    size_t n = std::min(room, asio::buffer_size(buffers));
    if (n == 0) return 0;
    size_t old = peer.in.size();
    peer.in.resize(old + n);
    asio::buffer_copy(asio::buffer(peer.in.data() + old, n), buffers, n);
    wake(peer.readable);
    return n;
  }

  void close(int side);
  void shutdownSend(int side);
  void cancel(int side);
};

template <typename Handler, typename... Args>
void postCompletion(const asio::any_io_executor& ex, Handler&& h, Args... args) {
  auto target = asio::get_associated_executor(h, ex);
  asio::post(target, [h = std::forward<Handler>(h), args...]() mutable { std::move(h)(args...); });
}

// A read (kRead), a readiness wait (kWait) or a write (kWrite) of one end, re-tried each time
// its timer wakes. Runs as the timer's completion handler, so invoking `handler` directly is a
// completion from outside the initiating call.
enum class LocalOpKind { kRead, kWait, kWrite };
template <LocalOpKind Kind, typename Buffers, typename Handler>
struct LocalOp {
  std::shared_ptr<LocalPipe> pipe;
  int side;
  Buffers buffers;
  Handler handler;

  LocalPipe::End& self() { return pipe->ends[side]; }
  bool& aborted() { return Kind == LocalOpKind::kWrite ? self().abort_write : self().abort_read; }
  int& waiting() { return Kind == LocalOpKind::kWrite ? self().writers : self().readers; }
  asio::steady_timer& timer() {
    return Kind == LocalOpKind::kWrite ? self().writable : self().readable;
  }

  // Whether the operation can complete now; sets its result.
  bool ready(asio::error_code& ec, size_t& n) {
    LocalPipe::End& e = self();
    n = 0;
    if (e.closed) {
      ec = asio::error::bad_descriptor;
      return true;
    }
    if constexpr (Kind == LocalOpKind::kWrite) {
      if (e.send_done || pipe->ends[1 - side].closed) {
        ec = asio::error::broken_pipe;
        return true;
      }
      if (asio::buffer_size(buffers) == 0) return true;
      n = pipe->put(side, buffers);
      return n > 0;
    } else {
      if (Kind == LocalOpKind::kRead && asio::buffer_size(buffers) == 0) return true;
      if (e.unread() > 0) {
        if constexpr (Kind == LocalOpKind::kRead) n = pipe->take(side, buffers);
        return true;
      }
      if (e.peer_done) {
        if (Kind == LocalOpKind::kRead) ec = asio::error::eof;
        return true;
      }
      return false;
    }
  }

  void complete(asio::error_code ec, size_t n) {
    if constexpr (Kind == LocalOpKind::kWait) {
      (void)n;
      std::move(handler)(ec);
    } else {
      std::move(handler)(ec, n);
    }
  }

  // At initiation: done now (posted), or park on the timer.
  void start() {
    asio::error_code ec;
    size_t n = 0;
    if (ready(ec, n)) {
      if constexpr (Kind == LocalOpKind::kWait) {
        postCompletion(pipe->ex, std::move(handler), ec);
      } else {
        postCompletion(pipe->ex, std::move(handler), ec, n);
      }
      return;
    }
    ++waiting();
    wait();
  }

  void wait() {
    asio::steady_timer& t = timer();
    LocalPipe::park(t);
    t.async_wait(std::move(*this));
  }

  void operator()(asio::error_code) {
    if (aborted()) {
      if (--waiting() == 0) aborted() = false;
      return complete(asio::error::operation_aborted, 0);
    }
    asio::error_code ec;
    size_t n = 0;
    if (!ready(ec, n)) return wait();
    --waiting();
    complete(ec, n);
  }
};

}  // namespace detail

class ByteStream {
 public:
  using executor_type = asio::any_io_executor;
  using wait_type = asio::ip::tcp::socket::wait_type;
  using shutdown_type = asio::ip::tcp::socket::shutdown_type;

  // Unread bytes an end of a local pair holds before its writer waits.
  static constexpr size_t kLocalCapacity = 64 * 1024;

  // A TCP socket (implicit: every place that made a socket still hands it over as it was).
  ByteStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}  // NOLINT
  ByteStream(ByteStream&& other) noexcept = default;
  ByteStream& operator=(ByteStream&& other) noexcept;
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;
  ~ByteStream();

  // Two connected local ends on `ex`.
  static std::pair<ByteStream, ByteStream> localPair(const executor_type& ex,
                                                     size_t capacity = kLocalCapacity);

  bool isSocket() const { return local_ == nullptr; }
  // The TCP socket (unopened for a local end).
  asio::ip::tcp::socket& socket() { return socket_; }
  executor_type get_executor() noexcept { return socket_.get_executor(); }

  bool is_open() const;
  size_t available(asio::error_code& ec) const;
  void cancel(asio::error_code& ec);
  void close(asio::error_code& ec);
  void shutdown(shutdown_type what, asio::error_code& ec);
  // A local end has no peer address: asio::error::not_connected.
  asio::ip::tcp::endpoint remote_endpoint(asio::error_code& ec) const;

  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(asio::error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (local_ == nullptr) return socket_.async_read_some(b, std::move(handler));
          using Op = detail::LocalOp<detail::LocalOpKind::kRead, MutableBuffers, decltype(handler)>;
          Op{local_, side_, b, std::move(handler)}.start();
        },
        token, buffers);
  }

  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(asio::error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (local_ == nullptr) return socket_.async_write_some(b, std::move(handler));
          using Op = detail::LocalOp<detail::LocalOpKind::kWrite, ConstBuffers, decltype(handler)>;
          Op{local_, side_, b, std::move(handler)}.start();
        },
        token, buffers);
  }

  // wait_read only for a local end (it is always writable until closed).
  template <typename Token>
  auto async_wait(wait_type what, Token&& token) {
    return asio::async_initiate<Token, void(asio::error_code)>(
        [this](auto handler, wait_type w) {
          if (local_ == nullptr) return socket_.async_wait(w, std::move(handler));
          using Op =
              detail::LocalOp<detail::LocalOpKind::kWait, asio::const_buffer, decltype(handler)>;
          Op{local_, side_, asio::const_buffer(), std::move(handler)}.start();
        },
        token, what);
  }

 private:
  ByteStream(asio::ip::tcp::socket unopened, std::shared_ptr<detail::LocalPipe> pipe, int side)
      : socket_(std::move(unopened)), local_(std::move(pipe)), side_(side) {}
  void release();

  asio::ip::tcp::socket socket_;  // a local end keeps an unopened one: its executor
  std::shared_ptr<detail::LocalPipe> local_;
  int side_ = 0;
};

}  // namespace sluice::proxy
