// The ZooKeeper wire codec (registry::zookeeper::WireRewriter) on one connection's two byte
// streams. The input is a sequence of chunks, [direction byte][u16 big-endian length][bytes]
// (direction bit 0: 0 = client -> server, 1 = server -> client), as a relay reads them.
// Properties: while nothing was rewritten the server bytes
// forwarded are a prefix of those received (nothing invented, nothing reordered); once in
// passthrough, each chunk is forwarded as it comes and nothing held back is lost.

#include <string>

#include "fuzz_check.h"
#include "registry/zookeeper/wire_rewriter.h"

using namespace sluice;
using namespace sluice::registry::zookeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::asView(data, size);
  WireRewriter::Options options;
  options.max_frame_bytes = 64 * 1024;
  WireRewriter rewriter(options);
  std::string server_in, server_out;
  while (input.size() >= 3) {
    const bool from_server = (input[0] & 1) != 0;
    size_t length =
        (static_cast<unsigned char>(input[1]) << 8) | static_cast<unsigned char>(input[2]);
    input.remove_prefix(3);
    std::string_view chunk = input.substr(0, length);
    input.remove_prefix(chunk.size());
    if (!from_server) {
      rewriter.fromClient(chunk);  // forwarded as it is by the relay
      continue;
    }
    const bool was_passthrough = rewriter.passthrough();
    std::string scratch;
    std::string forwarded(rewriter.fromServer(chunk, scratch));
    // In passthrough the chunk goes out whole, after a partial frame held back before, if any.
    if (was_passthrough) SLUICE_FUZZ_CHECK(forwarded.ends_with(chunk));
    server_in.append(chunk);
    server_out.append(forwarded);
    if (was_passthrough && rewriter.rewritten() == 0) SLUICE_FUZZ_CHECK(server_out == server_in);
    if (rewriter.rewritten() == 0) {
      SLUICE_FUZZ_CHECK(server_in.compare(0, server_out.size(), server_out) == 0);
    }
  }
  return 0;
}
