#pragma once
// What the HTTP/2 fuzz targets share: feeding a server session the client preface and then
// the input, in pieces of `piece` bytes (so every frame boundary falls everywhere), draining the
// session's output after each piece; a refused piece ends it, with an error that says why.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "http/h2/session.h"

namespace sluice::fuzz {

// Server callbacks' stream bookkeeping: DATA comes only on an open stream, and its flow-control
// credit is given back at once. A target derives from it and answers in onRequestHead.
struct TrackedStreams : http::h2::SessionCallbacks {
  http::h2::Session* session = nullptr;
  std::set<int32_t> open;
  void onData(int32_t stream, std::string_view data) override {
    SLUICE_FUZZ_CHECK(open.count(stream) == 1);
    session->consume(stream, data.size());
  }
  void onClose(int32_t stream, http::h2::ErrorCode) override { open.erase(stream); }
};

inline void feedServerSession(http::h2::Session& session, std::string_view frames, size_t piece) {
  std::string out;
  session.takeOutput(out);
  std::string bytes(http::h2::kClientPreface);
  bytes.append(frames);
  std::string_view rest = bytes;
  while (!rest.empty()) {
    std::string_view chunk = rest.substr(0, piece);
    rest.remove_prefix(chunk.size());
    auto received = session.receive(chunk);
    out.clear();
    session.takeOutput(out);
    if (!received) {
      SLUICE_FUZZ_CHECK(!received.error().message.empty());
      return;
    }
  }
}

}  // namespace sluice::fuzz
