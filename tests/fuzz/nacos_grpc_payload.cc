// The Nacos gRPC message layer as the embedded server receives it: each frame of the input
// ([u16 big-endian length][bytes], what grpc++ hands over as one message) is decoded as a Payload
// (protobuf Metadata + Any body of JSON); a decoded message re-encodes to one that decodes the
// same, and is answered by GrpcNamingService (unary, then on a bi-stream) with a Payload that
// decodes too.

#include <asio/io_context.hpp>
#include <string>

#include "fuzz_check.h"
#include "registry/nacos/grpc_codec.h"
#include "registry/nacos/grpc_naming_service.h"
#include "registry/nacos/snapshot_storage.h"

using namespace sluice;
using namespace sluice::registry::nacos;

namespace {

void checkAnswer(const GrpcMessage& answer) {
  SLUICE_FUZZ_CHECK(!answer.type.empty());
  auto decoded = decodePayload(encodePayload(answer));
  SLUICE_FUZZ_CHECK(decoded.has_value());
  SLUICE_FUZZ_CHECK(decoded->type == answer.type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::asView(data, size);
  asio::io_context io;
  int64_t now = 1'700'000'000'000;
  NamingStore store(StoreOptions{}, std::make_unique<MemorySnapshotStorage>(), [&] { return now; });
  GrpcNamingService service(io, store);
  const std::string peer = "ipv4:127.0.0.1:40000";
  uint64_t stream = service.streamOpened(peer, [](GrpcMessage pushed) {
    checkAnswer(pushed);
    return true;
  });

  for (int frames = 0; input.size() >= 2 && frames < 32; ++frames) {
    size_t length =
        (static_cast<unsigned char>(input[0]) << 8) | static_cast<unsigned char>(input[1]);
    input.remove_prefix(2);
    std::string_view frame = input.substr(0, length);
    input.remove_prefix(frame.size());

    auto message = decodePayload(frame);
    if (!message) {
      SLUICE_FUZZ_CHECK(!message.error().message.empty());
      continue;
    }
    SLUICE_FUZZ_CHECK(!message->type.empty() && message->body.is_object());
    auto again = decodePayload(encodePayload(*message));
    SLUICE_FUZZ_CHECK(again.has_value());
    SLUICE_FUZZ_CHECK(again->type == message->type && again->headers == message->headers);
    SLUICE_FUZZ_CHECK(again->body == message->body);

    GrpcMessage answer = service.handleUnary(peer, *message);
    checkAnswer(answer);
    service.streamMessage(peer, stream, *message);
    now += 1000;
  }
  service.streamClosed(peer, stream);
  return 0;
}
