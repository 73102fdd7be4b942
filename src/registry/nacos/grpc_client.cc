#include "registry/nacos/grpc_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/log.h"
#include "http/h2/session.h"
#include "net/socket_mark.h"

namespace sluice::registry::nacos {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUnaryPath = "/Request/request";
constexpr const char* kStreamPath = "/BiRequestStream/requestBiStream";
// What grpc++ allowed the watcher to receive: a large namespace's service list is one message.
constexpr size_t kMaxReceiveMessageBytes = 64 * 1024 * 1024;

// gRPC status codes the client tells apart (grpc/status.h).
constexpr int kGrpcOk = 0;
constexpr int kGrpcCancelled = 1;
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcResourceExhausted = 8;
constexpr int kGrpcUnavailable = 14;
constexpr int kGrpcInternal = 13;

// How a call ended, before its bytes are read as a Payload.
struct CallEnd {
  int status = kGrpcOk;
  std::string message;
};

std::string grpcFrame(std::string_view message) {
  std::string out;
  out.reserve(message.size() + 5);
  out.push_back('\0');  // not compressed: we announce no grpc-accept-encoding
  auto n = static_cast<uint32_t>(message.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(message);
  return out;
}

// grpc-message is percent-encoded (the gRPC HTTP/2 spec).
std::string percentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// One HTTP/2 connection to the server and the gRPC calls on it, driven by one I/O thread that
// owns the socket and the h2 session; other threads hand it work through exec(). Unary calls end
// in a promise; messages of the bi-stream go to `on_stream_message`, its end to
// `on_stream_end`, both called on the I/O thread (the connection's reader thread takes them
// from there).
class Transport : public http::h2::SessionCallbacks {
 public:
  using UnaryResult = Result<std::string>;
  std::function<void(std::string)> on_stream_message;
  std::function<void(std::string)> on_stream_end;

  explicit Transport(net::HostPort server) : server_(std::move(server)) {}

  ~Transport() override {
    stop();
    if (fd_ >= 0) ::close(fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  // Dials (bounded by timeout) and starts the I/O thread.
  Status start(std::chrono::milliseconds timeout) {
    SLUICE_ASSIGN_OR_RETURN(fd_, dial(timeout));
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return ioError("eventfd");
    http::h2::Settings settings;
    // The server's pushes arrive on one long stream: a window as large as the connection's.
    settings.initial_window_size = 1024 * 1024;
    settings.max_header_list_size = 64 * 1024;
    session_ = http::h2::Session::client(settings, *this);
    {
      std::lock_guard lock(mu_);
      io_running_ = true;
    }
    io_ = std::thread([this] { run(); });
    return ok();
  }

  // Stops the I/O thread: the bi-stream is cancelled, a GOAWAY sent, pending calls fail.
  void stop() {
    exec([this] {
      if (stream_id_ > 0 && !stream_ended_) session_->resetStream(stream_id_, kCancel);
      session_->goAway();
      flush();
      stopping_ = true;
    });
    if (io_.joinable()) io_.join();
  }

  // One unary call; the I/O thread enforces the deadline (grpc-timeout tells the server too).
  UnaryResult unary(std::string payload, std::chrono::milliseconds timeout) {
    auto done = std::make_shared<std::promise<UnaryResult>>();
    auto future = done->get_future();
    auto deadline = Clock::now() + timeout;
    bool queued = exec([this, done, deadline, timeout, payload = std::move(payload)] {
      Result<int32_t> id = open(kUnaryPath, timeout);
      if (!id) {
        done->set_value(tl::unexpected(id.error()));
        return;
      }
      Call& call = calls_[*id];
      call.unary = done;
      call.deadline = deadline;
      session_->sendData(*id, grpcFrame(payload), true);
      flush();
    });
    if (!queued) return stoppedError();
    // The I/O thread answers by the deadline; the margin only covers its scheduling.
    if (future.wait_for(timeout + std::chrono::seconds(2)) != std::future_status::ready) {
      return callError(kGrpcDeadlineExceeded, "no answer from the connection's I/O thread");
    }
    return future.get();
  }

  // Opens the bi-stream (no deadline: it lives as long as the connection).
  Status openStream() {
    std::promise<Status> opened;
    auto future = opened.get_future();
    bool queued = exec([this, &opened] {
      Result<int32_t> id = open(kStreamPath, std::chrono::milliseconds(0));
      if (!id) {
        opened.set_value(tl::unexpected(id.error()));
        return;
      }
      stream_id_ = *id;
      calls_[*id].stream = true;
      flush();
      opened.set_value(ok());
    });
    if (!queued) return stoppedError();
    return future.get();
  }

  // Queues one message on the bi-stream; false when it is gone.
  bool sendOnStream(std::string payload) {
    std::promise<bool> sent;
    auto future = sent.get_future();
    bool queued = exec([this, &sent, payload = std::move(payload)] {
      if (stream_id_ <= 0 || stream_ended_ || calls_.count(stream_id_) == 0) {
        sent.set_value(false);
        return;
      }
      session_->sendData(stream_id_, grpcFrame(payload), false);
      flush();
      sent.set_value(true);
    });
    return queued && future.get();
  }

  void cancelStream() {
    exec([this] {
      if (stream_id_ > 0 && calls_.count(stream_id_) != 0) {
        session_->resetStream(stream_id_, kCancel);
        flush();
      }
    });
  }

  // --- SessionCallbacks (I/O thread) ---

  void onResponseHead(int32_t stream, http::ResponseHead& head, bool end_stream) override {
    auto it = calls_.find(stream);
    if (it == calls_.end()) return;
    Call& call = it->second;
    call.http_status = head.status;
    if (auto type = head.headers.get("content-type")) call.content_type = std::string(*type);
    // Trailers-only: the status rides in the head.
    if (end_stream) readStatus(call, head.headers);
  }

  void onData(int32_t stream, std::string_view data) override {
    session_->consume(stream, data.size());
    auto it = calls_.find(stream);
    if (it == calls_.end()) return;
    Call& call = it->second;
    call.buffer.append(data);
    while (call.buffer.size() >= 5 && !call.failed) {
      auto byte = [&](size_t i) {
        return static_cast<uint32_t>(static_cast<uint8_t>(call.buffer[i]));
      };
      uint32_t length = byte(1) << 24 | byte(2) << 16 | byte(3) << 8 | byte(4);
      if (byte(0) != 0) {
        failCall(stream, call, kGrpcInternal, "a compressed message (none was accepted)");
        return;
      }
      if (length > kMaxReceiveMessageBytes) {
        failCall(stream, call, kGrpcResourceExhausted,
                 fmt::format("a message of {} bytes (limit {})", length, kMaxReceiveMessageBytes));
        return;
      }
      if (call.buffer.size() < 5 + static_cast<size_t>(length)) break;
      std::string message = call.buffer.substr(5, length);
      call.buffer.erase(0, 5 + static_cast<size_t>(length));
      if (call.stream) {
        if (on_stream_message) on_stream_message(std::move(message));
      } else {
        call.messages.push_back(std::move(message));
      }
    }
  }

  void onTrailers(int32_t stream, http::Headers& trailers) override {
    auto it = calls_.find(stream);
    if (it != calls_.end()) readStatus(it->second, trailers);
  }

  void onClose(int32_t stream, http::h2::ErrorCode code) override {
    auto it = calls_.find(stream);
    if (it == calls_.end()) return;
    Call call = std::move(it->second);
    calls_.erase(it);
    CallEnd end = endOf(call, code);
    if (call.stream) {
      stream_ended_ = true;
      if (on_stream_end) {
        on_stream_end(end.status == kGrpcOk ? "stream ended"
                                            : fmt::format("{} ({})", end.message, end.status));
      }
      return;
    }
    if (!call.unary) return;
    if (end.status != kGrpcOk) {
      call.unary->set_value(callError(end.status, end.message));
    } else if (call.messages.size() != 1) {
      call.unary->set_value(callError(
          kGrpcInternal, fmt::format("{} messages in a unary answer", call.messages.size())));
    } else {
      call.unary->set_value(std::move(call.messages.front()));
    }
  }

  void onGoAway(int32_t last_stream, http::h2::ErrorCode code) override {
    // Streams above last_stream are closed by the session (REFUSED_STREAM); the rest finish.
    // No new call opens here: the watcher reconnects when the stream ends.
    goaway_ = fmt::format("the server sent GOAWAY ({}, last stream {})",
                          http::h2::errorCodeName(code), last_stream);
    SLUICE_LOG_DEBUG("nacos grpc {}: {}", server_.toString(), goaway_);
  }

 private:
  static constexpr http::h2::ErrorCode kCancel = http::h2::ErrorCode::kCancel;

  struct Call {
    bool stream = false;
    std::shared_ptr<std::promise<UnaryResult>> unary;
    std::optional<Clock::time_point> deadline;
    std::string buffer;
    std::vector<std::string> messages;
    int http_status = 0;
    std::string content_type;
    std::optional<int> grpc_status;
    std::string grpc_message;
    bool failed = false;  // answered early (deadline, bad framing); the rest is ignored
    CallEnd failure;
  };

  tl::unexpected<Error> callError(int status, const std::string& message) const {
    ErrorCode code =
        status == kGrpcDeadlineExceeded ? ErrorCode::kTimeout : ErrorCode::kUnavailable;
    return makeError(code, ErrorSource::kRegistry,
                     fmt::format("nacos grpc {}: {} ({})", server_.toString(), message, status),
                     true);
  }

  // For callers on other threads once the I/O thread is gone (dead_ is the I/O thread's).
  tl::unexpected<Error> stoppedError() const {
    return callError(kGrpcUnavailable, "the connection is closed");
  }

  // I/O thread only.
  tl::unexpected<Error> closedError() const {
    return callError(kGrpcUnavailable, dead_.empty() ? "the connection is closed" : dead_);
  }

  Status ioError(const char* what) const {
    return makeError(
        ErrorCode::kUnavailable, ErrorSource::kRegistry,
        fmt::format("nacos grpc {}: {}: {}", server_.toString(), what, std::strerror(errno)), true);
  }

  Result<int> dial(std::chrono::milliseconds timeout) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string port = std::to_string(server_.port);
    if (int rc = ::getaddrinfo(server_.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return makeError(
          ErrorCode::kUnavailable, ErrorSource::kRegistry,
          fmt::format("nacos grpc {}: cannot resolve: {}", server_.toString(), ::gai_strerror(rc)),
          true);
    }
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, &::freeaddrinfo);
    auto deadline = Clock::now() + timeout;
    std::string why = "no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
      int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      if (auto marked = net::markOutboundSocket(fd); !marked) {
        ::close(fd);
        return tl::unexpected(marked.error());
      }
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 || errno == EINPROGRESS) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLOUT, 0};
        int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
        int err = 0;
        socklen_t len = sizeof err;
        if (ready == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
          return fd;
        }
        why = ready == 0 ? fmt::format("connect timed out after {} ms", timeout.count())
                         : std::strerror(err != 0 ? err : errno);
        ::close(fd);
        if (ready == 0) {
          return makeError(ErrorCode::kTimeout, ErrorSource::kRegistry,
                           fmt::format("nacos grpc {}: {}", server_.toString(), why), true);
        }
        continue;
      }
      why = std::strerror(errno);
      ::close(fd);
    }
    return makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry,
                     fmt::format("nacos grpc {}: cannot connect: {}", server_.toString(), why),
                     true);
  }

  // Runs `work` on the I/O thread; false when the thread is gone (the work is dropped).
  bool exec(std::function<void()> work) {
    {
      std::lock_guard lock(mu_);
      if (!io_running_ || io_done_) return false;
      work_.push_back(std::move(work));
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
    return true;
  }

  // A new stream with the gRPC request head (I/O thread).
  Result<int32_t> open(const char* path, std::chrono::milliseconds timeout) {
    if (!dead_.empty()) return closedError();
    if (!session_->canOpenStream()) {
      return callError(kGrpcUnavailable, goaway_.empty() ? "no stream can be opened" : goaway_);
    }
    http::RequestHead head;
    head.method = "POST";
    head.scheme = "http";
    head.authority = server_.toString();
    head.path = path;
    head.headers.add("content-type", "application/grpc");
    head.headers.add("te", "trailers");
    head.headers.add("user-agent", "sluice-nacos-grpc/1");
    if (timeout.count() > 0) head.headers.add("grpc-timeout", fmt::format("{}m", timeout.count()));
    auto id = session_->submitRequest(head, false);
    if (!id) return callError(kGrpcUnavailable, id.error().message);
    return *id;
  }

  void readStatus(Call& call, const http::Headers& fields) {
    if (auto status = fields.get("grpc-status")) {
      int value = kGrpcInternal;
      auto [p, ec] = std::from_chars(status->data(), status->data() + status->size(), value);
      call.grpc_status = ec == std::errc() ? value : kGrpcInternal;
    }
    if (auto message = fields.get("grpc-message")) call.grpc_message = percentDecode(*message);
  }

  CallEnd endOf(const Call& call, http::h2::ErrorCode code) const {
    if (call.failed) return call.failure;
    if (call.grpc_status) {
      std::string message = call.grpc_message.empty() ? "gRPC status" : call.grpc_message;
      return {*call.grpc_status, message};
    }
    if (code != http::h2::ErrorCode::kNoError) {
      int status = code == http::h2::ErrorCode::kCancel ? kGrpcCancelled : kGrpcUnavailable;
      std::string why = fmt::format("stream reset ({})", http::h2::errorCodeName(code));
      if (code == http::h2::ErrorCode::kRefusedStream && !goaway_.empty()) why = goaway_;
      return {status, why};
    }
    if (call.http_status != 0 && call.http_status != 200) {
      return {kGrpcUnavailable, fmt::format("HTTP status {}", call.http_status)};
    }
    if (!call.content_type.starts_with("application/grpc")) {
      return {kGrpcUnavailable,
              fmt::format("not a gRPC answer (content-type \"{}\")", call.content_type)};
    }
    return {kGrpcInternal, "the answer ended without grpc-status"};
  }

  // Answers a call now (its stream is reset); its later bytes and close are ignored.
  void failCall(int32_t stream, Call& call, int status, std::string message) {
    call.failed = true;
    call.failure = {status, std::move(message)};
    call.buffer.clear();
    session_->resetStream(stream, kCancel);
  }

  void flush() {
    session_->takeOutput(out_);
    while (!out_.empty() && fd_ >= 0 && dead_.empty()) {
      ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out_.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;  // POLLOUT resumes
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        connectionLost(fmt::format("write: {}", std::strerror(errno)));
        return;
      }
    }
  }

  // Every call fails with `why`; the stream ends. The I/O thread keeps serving exec() until stop.
  void connectionLost(std::string why) {
    if (!dead_.empty()) return;
    dead_ = std::move(why);
    std::vector<int32_t> ids;
    for (auto& [id, call] : calls_) ids.push_back(id);
    for (int32_t id : ids) {
      Call& call = calls_[id];
      if (!call.failed) {
        call.failed = true;
        call.failure = {kGrpcUnavailable, dead_};
      }
      onClose(id, http::h2::ErrorCode::kNoError);
    }
  }

  void expireDeadlines() {
    auto now = Clock::now();
    for (auto& [id, call] : calls_) {
      if (call.deadline && !call.failed && *call.deadline <= now) {
        failCall(id, call, kGrpcDeadlineExceeded, "deadline exceeded");
      }
    }
  }

  int pollTimeoutMs() const {
    auto next = Clock::now() + std::chrono::seconds(1);
    for (const auto& [id, call] : calls_) {
      if (call.deadline && !call.failed && *call.deadline < next) next = *call.deadline;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(next - Clock::now()).count();
    return static_cast<int>(std::max<int64_t>(left, 0));
  }

  void run() {
    std::string in(64 * 1024, '\0');
    flush();  // preface + SETTINGS
    while (!stopping_) {
      pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, 0, 0}};
      if (dead_.empty())
        fds[1] = {fd_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
      int n = ::poll(fds, 2, pollTimeoutMs());
      if (n < 0 && errno != EINTR) {
        connectionLost(fmt::format("poll: {}", std::strerror(errno)));
      }
      if (n > 0 && (fds[0].revents & POLLIN) != 0) {
        uint64_t count;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &count, sizeof count);
        std::deque<std::function<void()>> work;
        {
          std::lock_guard lock(mu_);
          work.swap(work_);
        }
        for (auto& w : work) w();
      }
      if (n > 0 && dead_.empty() && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        readSocket(in);
      }
      if (dead_.empty()) {
        expireDeadlines();
        flush();
        // A GOAWAY that ended the session is the reason callers should read, not the close.
        if (session_->done())
          connectionLost(goaway_.empty() ? "the server closed the HTTP/2 connection" : goaway_);
      }
    }
    // Whatever is still queued runs now so no caller waits for a thread that is gone.
    std::deque<std::function<void()>> left;
    {
      std::lock_guard lock(mu_);
      io_done_ = true;
      left.swap(work_);
    }
    connectionLost("the connection is closed");
    for (auto& w : left) w();
  }

  void readSocket(std::string& in) {
    for (;;) {
      ssize_t n = ::recv(fd_, in.data(), in.size(), 0);
      if (n > 0) {
        if (auto r = session_->receive(std::string_view(in.data(), static_cast<size_t>(n))); !r) {
          flush();  // the GOAWAY
          connectionLost(r.error().message);
          return;
        }
        if (static_cast<size_t>(n) < in.size()) return;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      std::string why = n == 0 ? "the server closed the connection"
                               : fmt::format("read: {}", std::strerror(errno));
      connectionLost(goaway_.empty() ? why : fmt::format("{}; {}", goaway_, why));
      return;
    }
  }

  net::HostPort server_;
  int fd_ = -1;
  int wake_fd_ = -1;
  std::unique_ptr<http::h2::Session> session_;
  std::thread io_;
  std::mutex mu_;
  std::deque<std::function<void()>> work_;
  bool io_running_ = false;
  bool io_done_ = false;
  // I/O thread only:
  std::map<int32_t, Call> calls_;
  std::string out_;
  std::string dead_;  // why the connection is gone; empty while it works
  std::string goaway_;
  int32_t stream_id_ = 0;
  bool stream_ended_ = false;
  bool stopping_ = false;
};

void fillRequest(GrpcMessage& message, std::atomic<uint64_t>& next_id) {
  if (!message.body.contains("requestId")) {
    message.body["requestId"] = std::to_string(next_id++);
  }
  if (!message.body.contains("headers")) message.body["headers"] = Json::object();
  if (!message.body.contains("module")) {
    bool internal = message.type == "ServerCheckRequest" || message.type == "HealthCheckRequest" ||
                    message.type == "ConnectionSetupRequest";
    message.body["module"] = internal ? "internal" : "naming";
  }
}

Result<GrpcMessage> unary(Transport& transport, const net::HostPort& server, GrpcMessage message,
                          std::chrono::milliseconds timeout, std::atomic<uint64_t>& next_id) {
  fillRequest(message, next_id);
  SLUICE_ASSIGN_OR_RETURN(std::string reply, transport.unary(encodePayload(message), timeout));
  auto decoded = decodePayload(reply);
  if (!decoded) {
    return makeError(ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
                     fmt::format("nacos grpc {}: bad answer to {}: {}", server.toString(),
                                 message.type, decoded.error().message));
  }
  if (!responseSucceeded(*decoded)) {
    return makeError(ErrorCode::kUnavailable, ErrorSource::kRegistry,
                     fmt::format("nacos grpc {}: {} refused: {}", server.toString(), message.type,
                                 describeResponseError(*decoded)),
                     true);
  }
  return decoded;
}

}  // namespace

// The transport's I/O thread hands stream messages to the reader thread, which decodes them,
// runs the caller's callbacks and answers: a callback may block (even call request()) without
// stalling the connection.
struct GrpcNamingConnection::Impl {
  GrpcClientOptions options;
  PushHandler on_push;
  CloseHandler on_close;
  std::unique_ptr<Transport> transport;
  std::thread reader;
  std::atomic<bool> closing{false};
  std::atomic<uint64_t> next_id{1};
  std::string connection_id;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> inbox;  // stream messages, in order
  std::optional<std::string> ended;
  bool reader_stop = false;
  bool acked = false;

  bool write(const GrpcMessage& message) {
    return transport && transport->sendOnStream(encodePayload(message));
  }

  void answer(const GrpcMessage& request, const std::string& type) {
    write(makeResponse(type, request));
  }

  void readLoop() {
    for (;;) {
      std::string bytes;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return reader_stop || !inbox.empty() || ended.has_value(); });
        if (reader_stop) return;
        if (inbox.empty()) break;  // the stream ended and every message was handled
        bytes = std::move(inbox.front());
        inbox.pop_front();
      }
      auto message = decodePayload(bytes);
      if (!message) {
        SLUICE_LOG_WARN("nacos grpc {}: bad message on the stream: {}", options.server.toString(),
                        message.error().message);
        continue;
      }
      const std::string& type = message->type;
      if (type == "SetupAckRequest") {
        answer(*message, "SetupAckResponse");
        std::lock_guard lock(mu);
        acked = true;
        cv.notify_all();
      } else if (type == "NotifySubscriberRequest") {
        if (on_push) on_push(*message);
        answer(*message, "NotifySubscriberResponse");
      } else if (type == "ClientDetectionRequest") {
        answer(*message, "ClientDetectionResponse");
      } else if (type == "ConnectResetRequest") {
        answer(*message, "ConnectResetResponse");
        if (on_push) on_push(*message);
        // The server wants us elsewhere (or gone): end the stream so the caller reconnects.
        transport->cancelStream();
        if (!closing && on_close) on_close("the server sent ConnectResetRequest");
        return;
      } else if (on_push) {
        on_push(*message);
      }
    }
    std::string why;
    {
      std::lock_guard lock(mu);
      why = ended.value_or("stream ended");
    }
    if (!closing && on_close) on_close(why);
  }
};

GrpcNamingConnection::GrpcNamingConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcNamingConnection::~GrpcNamingConnection() { close(); }

Result<std::unique_ptr<GrpcNamingConnection>> GrpcNamingConnection::connect(
    GrpcClientOptions options, PushHandler on_push, CloseHandler on_close) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->on_push = std::move(on_push);
  impl->on_close = std::move(on_close);
  const net::HostPort& server = impl->options.server;
  impl->transport = std::make_unique<Transport>(server);
  Impl* raw = impl.get();
  impl->transport->on_stream_message = [raw](std::string bytes) {
    std::lock_guard lock(raw->mu);
    raw->inbox.push_back(std::move(bytes));
    raw->cv.notify_all();
  };
  impl->transport->on_stream_end = [raw](std::string why) {
    std::lock_guard lock(raw->mu);
    if (!raw->ended) raw->ended = std::move(why);
    raw->cv.notify_all();
  };
  SLUICE_RETURN_IF_ERROR(impl->transport->start(impl->options.timeout));
  std::unique_ptr<GrpcNamingConnection> conn(new GrpcNamingConnection(std::move(impl)));

  GrpcMessage check;
  check.type = "ServerCheckRequest";
  SLUICE_ASSIGN_OR_RETURN(GrpcMessage checked, unary(*raw->transport, server, std::move(check),
                                                     raw->options.timeout, raw->next_id));
  raw->connection_id = checked.body.value("connectionId", "");
  bool negotiates =
      checked.body.value("supportAbilityNegotiation", false) && raw->options.negotiate_abilities;

  SLUICE_RETURN_IF_ERROR(raw->transport->openStream());
  raw->reader = std::thread([raw] { raw->readLoop(); });
  GrpcMessage setup;
  setup.type = "ConnectionSetupRequest";
  setup.body["clientVersion"] = raw->options.client_version;
  setup.body["tenant"] = "";
  setup.body["labels"] = raw->options.labels;
  if (raw->options.negotiate_abilities) {
    setup.body["abilityTable"] = Json::object();
  } else {
    setup.body["abilities"] = Json::object();
  }
  fillRequest(setup, raw->next_id);
  setup.body["module"] = "internal";
  if (!raw->write(setup)) {
    return makeError(
        ErrorCode::kUnavailable, ErrorSource::kRegistry,
        fmt::format("nacos grpc {}: the stream closed during setup", server.toString()), true);
  }
  if (negotiates) {
    std::unique_lock lock(raw->mu);
    if (!raw->cv.wait_for(lock, raw->options.timeout, [&] { return raw->acked; })) {
      return makeError(ErrorCode::kTimeout, ErrorSource::kRegistry,
                       fmt::format("nacos grpc {}: no SetupAckRequest within {} ms",
                                   server.toString(), raw->options.timeout.count()),
                       true);
    }
  } else {
    // What a 2.2 client does: give the server a moment to register the stream.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return conn;
}

Result<GrpcMessage> GrpcNamingConnection::request(GrpcMessage message) {
  return unary(*impl_->transport, impl_->options.server, std::move(message), impl_->options.timeout,
               impl_->next_id);
}

bool GrpcNamingConnection::sendOnStream(const GrpcMessage& message) {
  return impl_->write(message);
}

const std::string& GrpcNamingConnection::connectionId() const { return impl_->connection_id; }

void GrpcNamingConnection::close() {
  if (!impl_ || impl_->closing.exchange(true)) return;
  impl_->transport->stop();
  {
    std::lock_guard lock(impl_->mu);
    impl_->reader_stop = true;
    impl_->cv.notify_all();
  }
  if (impl_->reader.joinable()) impl_->reader.join();
  impl_->transport.reset();
}

Result<GrpcMessage> grpcUnaryOnce(const net::HostPort& server, const GrpcMessage& message,
                                  std::chrono::milliseconds timeout) {
  Transport transport(server);
  SLUICE_RETURN_IF_ERROR(transport.start(timeout));
  std::atomic<uint64_t> next_id{1};
  return unary(transport, server, message, timeout, next_id);
}

}  // namespace sluice::registry::nacos
