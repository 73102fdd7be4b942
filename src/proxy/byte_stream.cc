#include "proxy/byte_stream.h"

namespace sluice::proxy {

namespace detail {

void LocalPipe::cancel(int side) {
  End& e = ends[side];
  if (e.readers > 0) {
    e.abort_read = true;
    wake(e.readable);
  }
  if (e.writers > 0) {
    e.abort_write = true;
    wake(e.writable);
  }
}

void LocalPipe::close(int side) {
  End& e = ends[side];
  if (e.closed) return;
  cancel(side);
  e.closed = true;
  std::string().swap(e.in);
  e.in_off = 0;
  End& peer = ends[1 - side];
  peer.peer_done = true;
  wake(peer.readable);  // reads EOF
  wake(peer.writable);  // writes fail
}

void LocalPipe::shutdownSend(int side) {
  End& e = ends[side];
  e.send_done = true;
  wake(e.writable);
  ends[1 - side].peer_done = true;
  wake(ends[1 - side].readable);
}

}  // namespace detail

std::pair<ByteStream, ByteStream> ByteStream::localPair(const executor_type& ex, size_t capacity) {
  auto pipe = std::make_shared<detail::LocalPipe>(ex, capacity);
  return {ByteStream(asio::ip::tcp::socket(ex), pipe, 0),
          ByteStream(asio::ip::tcp::socket(ex), pipe, 1)};
}

ByteStream& ByteStream::operator=(ByteStream&& other) noexcept {
  if (this != &other) {
    release();
    socket_ = std::move(other.socket_);
    local_ = std::move(other.local_);
    side_ = other.side_;
  }
  return *this;
}

ByteStream::~ByteStream() { release(); }

void ByteStream::release() {
  if (local_ != nullptr) local_->close(side_);
  local_.reset();
}

bool ByteStream::is_open() const {
  return local_ == nullptr ? socket_.is_open() : !local_->ends[side_].closed;
}

size_t ByteStream::available(asio::error_code& ec) const {
  if (local_ == nullptr) return socket_.available(ec);
  const auto& e = local_->ends[side_];
  ec = e.closed ? asio::error_code(asio::error::bad_descriptor) : asio::error_code();
  return e.closed ? 0 : e.unread();
}

void ByteStream::cancel(asio::error_code& ec) {
  ec = {};
  if (local_ == nullptr) {
    socket_.cancel(ec);
  } else {
    local_->cancel(side_);
  }
}

void ByteStream::close(asio::error_code& ec) {
  ec = {};
  if (local_ == nullptr) {
    socket_.close(ec);
  } else {
    local_->close(side_);
  }
}

void ByteStream::shutdown(shutdown_type what, asio::error_code& ec) {
  ec = {};
  if (local_ == nullptr) {
    socket_.shutdown(what, ec);
    return;
  }
  if (local_->ends[side_].closed) {
    ec = asio::error::bad_descriptor;
    return;
  }
  if (what != asio::ip::tcp::socket::shutdown_receive) local_->shutdownSend(side_);
}

asio::ip::tcp::endpoint ByteStream::remote_endpoint(asio::error_code& ec) const {
  if (local_ == nullptr) return socket_.remote_endpoint(ec);
  ec = asio::error::not_connected;
  return {};
}

}  // namespace sluice::proxy
