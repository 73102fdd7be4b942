#include "registry/nacos/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/log.h"
#include "nacos_grpc_service.grpc.pb.h"

namespace sluice::registry::nacos {

namespace {

::Payload toPayload(const GrpcMessage& message) {
  ::Payload payload;
  if (!payload.ParseFromString(encodePayload(message))) payload.Clear();
  return payload;
}

Result<GrpcMessage> fromPayload(const ::Payload& payload) {
  return decodePayload(payload.SerializeAsString());
}

std::shared_ptr<grpc::Channel> makeChannel(const net::HostPort& server) {
  grpc::ChannelArguments args;
  // Each connection object gets its own HTTP/2 connection: the server identifies a client by
  // its transport, so two clients in one process must not share a subchannel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  return grpc::CreateCustomChannel(server.toString(), grpc::InsecureChannelCredentials(), args);
}

tl::unexpected<Error> statusError(const net::HostPort& server, const grpc::Status& status) {
  ErrorCode code = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                       ? ErrorCode::kTimeout
                       : ErrorCode::kUnavailable;
  return makeError(code, ErrorSource::kRegistry,
                   fmt::format("nacos grpc {}: {} ({})", server.toString(), status.error_message(),
                               static_cast<int>(status.error_code())),
                   true);
}

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

Result<GrpcMessage> unary(::Request::Stub& stub, const net::HostPort& server, GrpcMessage message,
                          std::chrono::milliseconds timeout, std::atomic<uint64_t>& next_id) {
  fillRequest(message, next_id);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  ::Payload reply;
  grpc::Status status = stub.request(&ctx, toPayload(message), &reply);
  if (!status.ok()) return statusError(server, status);
  auto decoded = fromPayload(reply);
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

struct GrpcNamingConnection::Impl {
  GrpcClientOptions options;
  PushHandler on_push;
  CloseHandler on_close;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<::Request::Stub> stub;
  std::unique_ptr<::BiRequestStream::Stub> stream_stub;
  grpc::ClientContext stream_ctx;
  std::unique_ptr<grpc::ClientReaderWriter<::Payload, ::Payload>> stream;
  std::mutex write_mu;
  std::thread reader;
  std::atomic<bool> closing{false};
  std::atomic<uint64_t> next_id{1};
  std::string connection_id;

  std::mutex ack_mu;
  std::condition_variable ack_cv;
  bool acked = false;

  bool write(const GrpcMessage& message) {
    std::lock_guard lock(write_mu);
    return stream && stream->Write(toPayload(message));
  }

  void answer(const GrpcMessage& request, const std::string& type) {
    write(makeResponse(type, request));
  }

  void readLoop() {
    ::Payload payload;
    while (stream->Read(&payload)) {
      auto message = fromPayload(payload);
      if (!message) {
        SLUICE_LOG_WARN("nacos grpc {}: bad message on the stream: {}", options.server.toString(),
                        message.error().message);
        continue;
      }
      const std::string& type = message->type;
      if (type == "SetupAckRequest") {
        answer(*message, "SetupAckResponse");
        std::lock_guard lock(ack_mu);
        acked = true;
        ack_cv.notify_all();
      } else if (type == "NotifySubscriberRequest") {
        if (on_push) on_push(*message);
        answer(*message, "NotifySubscriberResponse");
      } else if (type == "ClientDetectionRequest") {
        answer(*message, "ClientDetectionResponse");
      } else if (type == "ConnectResetRequest") {
        answer(*message, "ConnectResetResponse");
        if (on_push) on_push(*message);
        break;  // the server wants us elsewhere (or gone): reconnect
      } else if (on_push) {
        on_push(*message);
      }
    }
    stream_ctx.TryCancel();
    grpc::Status status = stream->Finish();
    if (!closing && on_close) on_close(status.ok() ? "stream ended" : status.error_message());
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
  impl->channel = makeChannel(impl->options.server);
  impl->stub = ::Request::NewStub(impl->channel);
  impl->stream_stub = ::BiRequestStream::NewStub(impl->channel);
  const net::HostPort& server = impl->options.server;

  GrpcMessage check;
  check.type = "ServerCheckRequest";
  SLUICE_ASSIGN_OR_RETURN(GrpcMessage checked, unary(*impl->stub, server, std::move(check),
                                                     impl->options.timeout, impl->next_id));
  impl->connection_id = checked.body.value("connectionId", "");
  bool negotiates =
      checked.body.value("supportAbilityNegotiation", false) && impl->options.negotiate_abilities;

  impl->stream = impl->stream_stub->requestBiStream(&impl->stream_ctx);
  GrpcMessage setup;
  setup.type = "ConnectionSetupRequest";
  setup.body["clientVersion"] = impl->options.client_version;
  setup.body["tenant"] = "";
  setup.body["labels"] = impl->options.labels;
  if (impl->options.negotiate_abilities) {
    setup.body["abilityTable"] = Json::object();
  } else {
    setup.body["abilities"] = Json::object();
  }
  fillRequest(setup, impl->next_id);
  setup.body["module"] = "internal";
  if (!impl->write(setup)) {
    return makeError(
        ErrorCode::kUnavailable, ErrorSource::kRegistry,
        fmt::format("nacos grpc {}: the stream closed during setup", server.toString()), true);
  }
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->readLoop(); });
  std::unique_ptr<GrpcNamingConnection> conn(new GrpcNamingConnection(std::move(impl)));
  if (negotiates) {
    std::unique_lock lock(raw->ack_mu);
    if (!raw->ack_cv.wait_for(lock, raw->options.timeout, [&] { return raw->acked; })) {
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
  return unary(*impl_->stub, impl_->options.server, std::move(message), impl_->options.timeout,
               impl_->next_id);
}

bool GrpcNamingConnection::sendOnStream(const GrpcMessage& message) {
  return impl_->write(message);
}

const std::string& GrpcNamingConnection::connectionId() const { return impl_->connection_id; }

void GrpcNamingConnection::close() {
  if (!impl_ || impl_->closing.exchange(true)) return;
  impl_->stream_ctx.TryCancel();
  if (impl_->reader.joinable()) impl_->reader.join();
  impl_->stream.reset();
  impl_->stream_stub.reset();
  impl_->stub.reset();
  impl_->channel.reset();
}

Result<GrpcMessage> grpcUnaryOnce(const net::HostPort& server, const GrpcMessage& message,
                                  std::chrono::milliseconds timeout) {
  auto channel = makeChannel(server);
  auto stub = ::Request::NewStub(channel);
  std::atomic<uint64_t> next_id{1};
  return unary(*stub, server, message, timeout, next_id);
}

}  // namespace sluice::registry::nacos
