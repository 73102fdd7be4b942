// The grpc++ transport of the embedded Nacos server, built as the module sluice-nacos-grpc.so
// (grpc_server_module.h says why and what it may use; grpc_server.h the contract).

#include "registry/nacos/grpc_server_module.h"

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>

#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <vector>

#include "core/log.h"

namespace sluice::registry::nacos {

namespace {

constexpr const char* kUnaryMethod = "/Request/request";
constexpr const char* kStreamMethod = "/BiRequestStream/requestBiStream";

std::string bufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& s : slices)
    out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer toBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// Runs work on the io_context thread, in submission order. Once stopping, work runs at once on
// the caller's thread with stopping=true and must only end its call (stop() blocks the io
// thread while grpc winds down, so nothing may wait for it then).
class Dispatcher : public std::enable_shared_from_this<Dispatcher> {
 public:
  using Task = std::function<void(bool stopping)>;
  explicit Dispatcher(GrpcServerHost& host) : host_(host) {}

  void submit(Task task) {
    {
      std::lock_guard lock(mu_);
      if (!stopping_) {
        tasks_.push_back(std::move(task));
        if (!drain_posted_) {
          drain_posted_ = true;
          host_.post([self = shared_from_this()] { self->drain(); });
        }
        return;
      }
    }
    task(true);
  }

  // On the io thread: from now on work runs inline; queued work is ended.
  void stop() {
    std::deque<Task> left;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      left.swap(tasks_);
    }
    for (Task& task : left) task(true);
  }

 private:
  void drain() {
    std::deque<Task> batch;
    {
      std::lock_guard lock(mu_);
      drain_posted_ = false;
      if (stopping_) return;
      batch.swap(tasks_);
    }
    for (Task& task : batch) task(false);
  }

  GrpcServerHost& host_;
  std::mutex mu_;
  bool stopping_ = false;
  bool drain_posted_ = false;
  std::deque<Task> tasks_;
};

// /Request/request: one Payload in, one out.
class UnaryReactor : public grpc::ServerGenericBidiReactor {
 public:
  UnaryReactor(grpc::GenericCallbackServerContext* ctx, GrpcServerHost& naming,
               std::shared_ptr<Dispatcher> dispatcher)
      : peer_(ctx->peer()), naming_(naming), dispatcher_(std::move(dispatcher)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "/Request/request expects one Payload message"));
      return;
    }
    auto message = naming_.decode(bufferBytes(request_));
    if (!message) {
      SLUICE_LOG_WARN("nacos grpc: bad request from {}: {}", peer_, message.error().message);
      respond(naming_.errorResponse(kGrpcCodeInvalidParam, message.error().message, nullptr));
      return;
    }
    dispatcher_->submit([this, request = std::move(*message)](bool stopping) {
      if (stopping) {
        respond(naming_.errorResponse(kGrpcCodeServerError, "server is shutting down", &request));
      } else {
        respond(naming_.handleUnary(peer_, request));
      }
    });
  }

  void OnDone() override { delete this; }

 private:
  void respond(const GrpcMessage& response) {
    response_ = toBuffer(naming_.encode(response));
    StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
  }

  std::string peer_;
  GrpcServerHost& naming_;
  std::shared_ptr<Dispatcher> dispatcher_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

class StreamReactor;

// What outlives a stream reactor: the write queue the naming service writes into, and the
// stream id it was given. Writes are serialised here (grpc allows one outstanding write).
struct StreamState {
  std::mutex mu;
  StreamReactor* reactor = nullptr;  // null once OnDone ran
  std::deque<grpc::ByteBuffer> queue;
  bool writing = false;
  bool finish_requested = false;
  bool finished = false;
  grpc::Status final_status;
  uint64_t stream_id = 0;  // io thread only
  std::string peer;
};

// Tracks live streams so stop() can end them.
struct StreamRegistry {
  std::mutex mu;
  std::set<std::shared_ptr<StreamState>> live;
};

class StreamReactor : public grpc::ServerGenericBidiReactor {
 public:
  StreamReactor(grpc::GenericCallbackServerContext* ctx, GrpcServerHost& naming,
                std::shared_ptr<Dispatcher> dispatcher, std::shared_ptr<StreamRegistry> registry)
      : naming_(naming),
        dispatcher_(std::move(dispatcher)),
        registry_(std::move(registry)),
        state_(std::make_shared<StreamState>()) {
    state_->reactor = this;
    state_->peer = ctx->peer();
    {
      std::lock_guard lock(registry_->mu);
      registry_->live.insert(state_);
    }
    // The tasks capture the state, never `this`: the reactor may be gone before they run.
    dispatcher_->submit([&naming = naming_, state = state_](bool stopping) {
      if (stopping) return;
      std::weak_ptr<StreamState> weak = state;
      state->stream_id = naming.streamOpened(state->peer, [weak, &naming](GrpcMessage message) {
        auto s = weak.lock();
        return s && enqueue(*s, naming.encode(message));
      });
    });
    StartSendInitialMetadata();
    StartRead(&read_);
  }

  // Queues one message; false when the stream is finishing or gone.
  static bool enqueue(StreamState& s, const std::string& bytes) {
    StreamReactor* reactor = nullptr;
    grpc::ByteBuffer* next = nullptr;
    {
      std::lock_guard lock(s.mu);
      if (s.reactor == nullptr || s.finish_requested) return false;
      s.queue.push_back(toBuffer(bytes));
      if (s.writing) return true;
      s.writing = true;
      reactor = s.reactor;
      next = &s.queue.front();
    }
    reactor->StartWrite(next);
    return true;
  }

  // Ends the stream once queued writes are out (a ConnectResetRequest before a shutdown).
  static void finish(StreamState& s, grpc::Status status) {
    StreamReactor* reactor = nullptr;
    {
      std::lock_guard lock(s.mu);
      if (s.reactor == nullptr || s.finish_requested) return;
      s.finish_requested = true;
      s.final_status = status;
      if (s.writing) return;  // OnWriteDone finishes
      s.finished = true;
      reactor = s.reactor;
    }
    reactor->Finish(status);
  }

  void OnSendInitialMetadataDone(bool /*ok*/) override {}

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed or went away
      finish(*state_, grpc::Status::OK);
      return;
    }
    auto message = naming_.decode(bufferBytes(read_));
    if (!message) {
      SLUICE_LOG_WARN("nacos grpc: bad stream message from {}: {}", state_->peer,
                      message.error().message);
      enqueue(*state_, naming_.encode(naming_.errorResponse(kGrpcCodeInvalidParam,
                                                            message.error().message, nullptr)));
    } else {
      dispatcher_->submit(
          [&naming = naming_, state = state_, m = std::move(*message)](bool stopping) {
            if (!stopping) naming.streamMessage(state->peer, state->stream_id, m);
          });
    }
    StartRead(&read_);
  }

  void OnWriteDone(bool ok) override {
    grpc::ByteBuffer* next = nullptr;
    bool do_finish = false;
    grpc::Status status;
    {
      std::lock_guard lock(state_->mu);
      state_->queue.pop_front();
      if (!ok) state_->queue.clear();
      if (ok && !state_->queue.empty()) {
        next = &state_->queue.front();
      } else {
        state_->writing = false;
        if (state_->finish_requested && !state_->finished) {
          state_->finished = true;
          do_finish = true;
          status = state_->final_status;
        }
      }
    }
    if (next != nullptr) {
      StartWrite(next);
    } else if (do_finish) {
      Finish(status);
    }
  }

  void OnCancel() override { finish(*state_, grpc::Status::CANCELLED); }

  void OnDone() override {
    {
      std::lock_guard lock(state_->mu);
      state_->reactor = nullptr;
      state_->queue.clear();
    }
    {
      std::lock_guard lock(registry_->mu);
      registry_->live.erase(state_);
    }
    dispatcher_->submit([&naming = naming_, state = state_](bool stopping) {
      if (!stopping) naming.streamClosed(state->peer, state->stream_id);
    });
    delete this;
  }

 private:
  GrpcServerHost& naming_;
  std::shared_ptr<Dispatcher> dispatcher_;
  std::shared_ptr<StreamRegistry> registry_;
  std::shared_ptr<StreamState> state_;
  grpc::ByteBuffer read_;
};

class RejectReactor : public grpc::ServerGenericBidiReactor {
 public:
  explicit RejectReactor(const std::string& method) {
    Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                        "unknown method " + method + ": this Nacos server serves " + kUnaryMethod +
                            " and " + kStreamMethod));
  }
  void OnDone() override { delete this; }
};

class NacosGenericService : public grpc::CallbackGenericService {
 public:
  NacosGenericService(GrpcServerHost& naming, std::shared_ptr<Dispatcher> dispatcher,
                      std::shared_ptr<StreamRegistry> registry)
      : naming_(naming), dispatcher_(std::move(dispatcher)), registry_(std::move(registry)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    if (ctx->method() == kUnaryMethod) return new UnaryReactor(ctx, naming_, dispatcher_);
    if (ctx->method() == kStreamMethod) {
      return new StreamReactor(ctx, naming_, dispatcher_, registry_);
    }
    SLUICE_LOG_WARN("nacos grpc: {} called unknown method {}", ctx->peer(), ctx->method());
    return new RejectReactor(ctx->method());
  }

 private:
  GrpcServerHost& naming_;
  std::shared_ptr<Dispatcher> dispatcher_;
  std::shared_ptr<StreamRegistry> registry_;
};

class GrpcppTransport : public GrpcServerTransport {
 public:
  GrpcppTransport(GrpcServerHost& host, const GrpcServerOptions& options)
      : host_(host),
        options_(options),
        dispatcher_(std::make_shared<Dispatcher>(host)),
        registry_(std::make_shared<StreamRegistry>()),
        service_(host, dispatcher_, registry_) {}
  ~GrpcppTransport() override { stop(); }

  Result<uint16_t> start(const std::string& address) override {
    grpc::ServerBuilder builder;
    int selected_port = 0;
    builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &selected_port);
    builder.RegisterCallbackGenericService(&service_);
    builder.SetMaxReceiveMessageSize(options_.max_message_bytes);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS,
                               static_cast<int>(options_.keepalive_time.count()));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS,
                               static_cast<int>(options_.keepalive_timeout.count()));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // Clients choose their own ping cadence (grpc-java's keepAliveTime); never GOAWAY them for it.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    server_ = builder.BuildAndStart();
    if (!server_ || selected_port == 0) {
      server_.reset();
      return makeError(ErrorCode::kUnavailable, ErrorSource::kInternal,
                       fmt::format("nacos grpc: cannot listen on {}", address));
    }
    return static_cast<uint16_t>(selected_port);
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    if (!server_) return;
    host_.resetAll();
    dispatcher_->stop();
    std::vector<std::shared_ptr<StreamState>> live;
    {
      std::lock_guard lock(registry_->mu);
      live.assign(registry_->live.begin(), registry_->live.end());
    }
    for (auto& state : live) {
      StreamReactor::finish(
          *state, grpc::Status(grpc::StatusCode::UNAVAILABLE, "the Nacos server is shutting down"));
    }
    server_->Shutdown(std::chrono::system_clock::now() + options_.shutdown_grace);
    server_.reset();
  }

 private:
  GrpcServerHost& host_;
  GrpcServerOptions options_;
  std::shared_ptr<Dispatcher> dispatcher_;
  std::shared_ptr<StreamRegistry> registry_;
  NacosGenericService service_;
  std::unique_ptr<grpc::Server> server_;
  bool stopped_ = false;
};

}  // namespace
}  // namespace sluice::registry::nacos

extern "C" __attribute__((visibility("default"))) sluice::registry::nacos::GrpcServerTransport*
sluice_nacos_grpc_server_create(int abi, sluice::registry::nacos::GrpcServerHost* host,
                                const sluice::registry::nacos::GrpcServerOptions* options) {
  using namespace sluice::registry::nacos;
  if (abi != kGrpcServerModuleAbi || host == nullptr || options == nullptr) return nullptr;
  return new GrpcppTransport(*host, *options);
}
