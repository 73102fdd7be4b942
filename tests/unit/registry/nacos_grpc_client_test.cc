// The watcher's gRPC client (GrpcNamingConnection over nghttp2, grpc_client.h) where the embedded
// server would not take it: a server that never answers (the deadline ends the call and the
// server sees it cancelled), a failed gRPC status with a percent-encoded grpc-message, a server
// that sends GOAWAY before any stream, and a port that does not speak HTTP/2. The happy paths
// (setup, ack, unary, pushes, ConnectReset) run against the embedded grpc++ server in
// nacos_grpc_test.cc and nacos_grpc_watcher_test.cc.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "registry/nacos/grpc_client.h"
#include "testutil/eventually.h"

namespace sluice::registry::nacos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A grpc++ server whose every call either stays unanswered or fails with a status.
class FakeGrpcServer {
 public:
  enum class Mode { kSilent, kFail };

  explicit FakeGrpcServer(Mode mode) : service_(mode, cancelled_) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~FakeGrpcServer() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }

  net::HostPort address() const { return {"127.0.0.1", static_cast<uint16_t>(port_)}; }
  int cancelled() const { return cancelled_.load(); }

 private:
  class Reactor : public grpc::ServerGenericBidiReactor {
   public:
    Reactor(Mode mode, std::atomic<int>& cancelled) : mode_(mode), cancelled_(cancelled) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (ok && mode_ == Mode::kFail) {
        Finish(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "nope: 100% sure"));
      }
    }
    void OnCancel() override {
      ++cancelled_;
      Finish(grpc::Status::CANCELLED);
    }
    void OnDone() override { delete this; }

   private:
    Mode mode_;
    std::atomic<int>& cancelled_;
    grpc::ByteBuffer request_;
  };

  class Service : public grpc::CallbackGenericService {
   public:
    Service(Mode mode, std::atomic<int>& cancelled) : mode_(mode), cancelled_(cancelled) {}
    grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override {
      return new Reactor(mode_, cancelled_);
    }

   private:
    Mode mode_;
    std::atomic<int>& cancelled_;
  };

  std::atomic<int> cancelled_{0};
  Service service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// A loopback TCP server that answers the first bytes it reads with `reply` and closes.
class RawServer {
 public:
  explicit RawServer(std::string reply) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, reply = std::move(reply)] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      if (::recv(c, buf, sizeof buf, 0) > 0) {
        [[maybe_unused]] ssize_t n = ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
        // Reads until the client closes, so the reply is not lost to a reset.
        while (::recv(c, buf, sizeof buf, 0) > 0) {
        }
      }
      ::close(c);
    });
  }
  ~RawServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  net::HostPort address() const { return {"127.0.0.1", port_}; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

GrpcClientOptions optionsFor(const net::HostPort& server, std::chrono::milliseconds timeout) {
  GrpcClientOptions options;
  options.server = server;
  options.timeout = timeout;
  return options;
}

TEST(NacosGrpcClient, AnUnansweredCallEndsAtItsDeadlineAndTheServerSeesItCancelled) {
  FakeGrpcServer server(FakeGrpcServer::Mode::kSilent);
  auto start = Clock::now();
  auto conn = GrpcNamingConnection::connect(optionsFor(server.address(), 300ms), nullptr, nullptr);
  auto took = Clock::now() - start;
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kTimeout) << conn.error().message;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  // The client reset the stream (and sent grpc-timeout): the server's call was cancelled.
  EXPECT_TRUE(testutil::eventually([&] { return server.cancelled() == 1; }));
}

TEST(NacosGrpcClient, AFailedStatusBecomesAnErrorWithTheDecodedGrpcMessage) {
  FakeGrpcServer server(FakeGrpcServer::Mode::kFail);
  GrpcMessage check;
  check.type = "ServerCheckRequest";
  auto r = grpcUnaryOnce(server.address(), check, 3s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("nope: 100% sure (7)"), std::string::npos) << r.error().message;
}

TEST(NacosGrpcClient, AGoAwayBeforeTheFirstStreamFailsTheCallAtOnce) {
  // An empty SETTINGS (the server preface), then GOAWAY(last stream 0, NO_ERROR).
  std::string settings("\0\0\0\x04\0\0\0\0\0", 9);
  std::string goaway("\0\0\x08\x07\0\0\0\0\0\0\0\0\0\0\0\0\0", 17);
  RawServer server(settings + goaway);
  auto start = Clock::now();
  auto conn = GrpcNamingConnection::connect(optionsFor(server.address(), 10s), nullptr, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(conn.error().message.find("GOAWAY"), std::string::npos) << conn.error().message;
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(NacosGrpcClient, APortThatDoesNotSpeakHttp2IsUnavailableNotAHang) {
  RawServer server("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  auto start = Clock::now();
  auto conn = GrpcNamingConnection::connect(optionsFor(server.address(), 10s), nullptr, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable) << conn.error().message;
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(NacosGrpcClient, NothingListeningIsUnavailable) {
  uint16_t port;
  {
    RawServer closed("");
    port = closed.address().port;
  }
  auto conn = GrpcNamingConnection::connect(optionsFor({"127.0.0.1", port}, 1s), nullptr, nullptr);
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable) << conn.error().message;
}

}  // namespace
}  // namespace sluice::registry::nacos
