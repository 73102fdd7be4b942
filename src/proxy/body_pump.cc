#include "proxy/body_pump.h"

#include <asio/write.hpp>
#include <optional>

namespace sluice::proxy {

using asio::awaitable;
using Status = PumpResult::Status;

namespace {

// Hands `framed` (the consumed wire bytes) or `decoded` to the sink.
awaitable<Status> emit(BodySink& sink, std::string_view framed, std::string_view decoded) {
  if (sink.collect != nullptr) {
    if (sink.collect->size() + decoded.size() > sink.limit) co_return Status::kTooLarge;
    sink.collect->append(decoded);
    co_return Status::kDone;
  }
  if (sink.data != nullptr) {
    if (decoded.empty()) co_return Status::kDone;
    bool accepted = co_await sink.data->write(decoded);
    co_return accepted ? Status::kDone : Status::kSinkFailed;
  }
  std::string_view bytes = sink.form == BodySink::Form::kAsFramed ? framed : decoded;
  if (bytes.empty()) co_return Status::kDone;
  asio::error_code ec;
  co_await asio::async_write(*sink.socket, asio::buffer(bytes.data(), bytes.size()), withEc(ec));
  co_return ec ? Status::kSinkFailed : Status::kDone;
}

// What a body comes to before a byte moves, if that is known: nothing to move (kNone), or a
// Content-Length beyond a collecting sink's limit.
std::optional<Status> settledBeforeStart(const http::BodyFraming& framing, const BodySink& sink) {
  if (framing.kind == http::BodyKind::kNone) return Status::kDone;
  if (sink.collect != nullptr && framing.kind == http::BodyKind::kContentLength &&
      framing.length > sink.limit) {
    return Status::kTooLarge;
  }
  return std::nullopt;
}

}  // namespace

awaitable<PumpResult> pumpBody(const http::BodyFraming& framing, const http::Limits& limits,
                               ByteStream& source, Buffer& in, BodySink sink) {
  PumpResult r;
  if (auto settled = settledBeforeStart(framing, sink)) {
    r.status = *settled;
    co_return r;
  }
  http::LengthDecoder length(framing.length);
  http::ChunkedDecoder chunked(limits);
  bool decode_copy = framing.kind == http::BodyKind::kChunked &&
                     (sink.socket == nullptr || sink.form == BodySink::Form::kDecoded);
  std::string decoded;  // chunked data for a decoded sink: the pieces of one read, joined
  for (;;) {
    // Take what the buffer holds of the body.
    std::string_view view = in.view();
    size_t consumed = 0;
    bool done = false;
    std::string_view plain;
    switch (framing.kind) {
      case http::BodyKind::kContentLength:
        plain = length.take(view);
        consumed = plain.size();
        done = length.done();
        break;
      case http::BodyKind::kUntilClose:
        plain = view;
        consumed = view.size();
        break;
      case http::BodyKind::kChunked:
        decoded.clear();
        for (;;) {
          auto c = chunked.decode(view.substr(consumed));
          if (c.status == http::ParseStatus::kError) {
            r.status = Status::kMalformed;
            r.error = std::move(c.error);
            co_return r;
          }
          consumed += c.consumed;
          r.body_bytes += c.data.size();
          if (decode_copy) decoded.append(c.data);
          if (c.status == http::ParseStatus::kComplete) {
            done = true;
            if (!chunked.trailers().empty()) r.trailers = chunked.trailers();
            break;
          }
          if (c.consumed == 0) break;
        }
        plain = decoded;
        break;
      case http::BodyKind::kNone:
        break;
    }
    if (framing.kind != http::BodyKind::kChunked) r.body_bytes += plain.size();
    if (consumed > 0) {
      Status s = co_await emit(sink, view.substr(0, consumed), plain);
      in.consume(consumed);
      if (s != Status::kDone) {
        r.status = s;
        co_return r;
      }
    }
    if (done) co_return r;
    asio::error_code ec;
    size_t n = co_await readMore(source, in, ec);
    if (ec || n == 0) {
      // Only a body delimited by the close ends well this way.
      if (framing.kind != http::BodyKind::kUntilClose) r.status = Status::kSourceFailed;
      co_return r;
    }
  }
}

awaitable<PumpResult> pumpDecodedBody(DecodedBodySource& source, const http::BodyFraming& framing,
                                      BodySink sink) {
  PumpResult r;
  if (auto settled = settledBeforeStart(framing, sink)) {
    r.status = *settled;
    co_return r;
  }
  bool chunked = sink.socket != nullptr && sink.form == BodySink::Form::kAsFramed &&
                 framing.kind == http::BodyKind::kChunked;
  std::string piece;
  std::string wire;  // `piece` as chunks, for a chunked socket sink
  for (;;) {
    piece.clear();
    piece.swap(source.receivedData());  // the session may append while a write below waits
    bool done = source.receivedEnd();
    const http::Headers* trailers = done ? source.receivedTrailers() : nullptr;
    r.body_bytes += piece.size();
    wire.clear();
    if (chunked) {
      if (!piece.empty()) http::appendChunk(piece, wire);
      if (done) http::appendLastChunk(wire, trailers);
    }
    if (!piece.empty() || !wire.empty()) {
      Status st = co_await emit(sink, chunked ? std::string_view(wire) : piece, piece);
      if (st != Status::kDone) {
        r.status = st;
        co_return r;
      }
    }
    // Credit goes back only once the bytes were handed on: a slow sink stops the sender.
    if (!piece.empty() && !source.gone()) source.forwarded(piece.size());
    if (done) {
      if (trailers != nullptr) r.trailers = *trailers;
      co_return r;
    }
    if (source.gone()) {
      r.status = Status::kSourceFailed;
      co_return r;
    }
    // Bytes (or the end) that came while we wrote are taken at once: a wake-up with nobody
    // waiting is not remembered.
    if (source.receivedData().empty() && !source.receivedEnd()) co_await waitOn(source.progress());
  }
}

}  // namespace sluice::proxy
