#pragma once
// For the targets that drive a registry's HTTP API handler: the fuzz input is a stream of raw
// HTTP/1.1 requests (heads parsed by http::RequestHeadParser, bodies by Content-Length or
// chunked), so seeds are plain request text and the mutator works on what a client sends. Each
// whole request is handed to `handle`; the stream ends at the first incomplete or invalid one.

#include <functional>
#include <string>
#include <string_view>

#include "http/codec.h"
#include "http/server.h"

namespace sluice::fuzz {

inline int forEachRequest(std::string_view input,
                          const std::function<void(const http::Request&)>& handle,
                          int max_requests = 64) {
  int handled = 0;
  while (!input.empty() && handled < max_requests) {
    http::Request request;
    http::HeadResult head = http::parseRequestHead(input, request.head);
    if (head.status != http::ParseStatus::kComplete) break;
    input.remove_prefix(head.consumed);
    if (head.framing.kind == http::BodyKind::kContentLength) {
      if (head.framing.length > input.size()) break;
      request.body.assign(input.substr(0, static_cast<size_t>(head.framing.length)));
      input.remove_prefix(static_cast<size_t>(head.framing.length));
    } else if (head.framing.kind == http::BodyKind::kChunked) {
      http::ChunkedDecoder decoder;
      http::ChunkResult c;
      do {
        c = decoder.decode(input);
        request.body.append(c.data);
        input.remove_prefix(c.consumed);
      } while (c.status == http::ParseStatus::kIncomplete && c.consumed > 0);
      if (c.status != http::ParseStatus::kComplete) break;
    }
    request.peer = {"127.0.0.1", 40000};
    handle(request);
    ++handled;
  }
  return handled;
}

// True when `content_type` says JSON.
inline bool isJson(std::string_view content_type) {
  return content_type.find("json") != std::string_view::npos;
}

}  // namespace sluice::fuzz
