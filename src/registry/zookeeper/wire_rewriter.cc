#include "registry/zookeeper/wire_rewriter.h"

#include <nlohmann/json.hpp>

namespace sluice::registry::zookeeper {

namespace {

constexpr int32_t kOpGetData = 4;
constexpr size_t kStatBytes = 68;
constexpr size_t kStatDataLengthOffset = 52;
constexpr size_t kReplyHeaderBytes = 16;  // xid(4) zxid(8) err(4)

uint32_t readU32(std::string_view b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
         (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
}

int32_t readI32(std::string_view b, size_t at) { return static_cast<int32_t>(readU32(b, at)); }

void writeU32(std::string& b, size_t at, uint32_t v) {
  b[at] = static_cast<char>(v >> 24);
  b[at + 1] = static_cast<char>(v >> 16);
  b[at + 2] = static_cast<char>(v >> 8);
  b[at + 3] = static_cast<char>(v);
}

}  // namespace

WireRewriter::WireRewriter(Options options) : options_(std::move(options)) {
  while (options_.root.size() > 1 && options_.root.back() == '/') options_.root.pop_back();
}

std::string WireRewriter::serviceOfInstancePath(std::string_view root, std::string_view path) {
  std::string_view prefix = root == "/" ? std::string_view() : root;
  if (!path.starts_with(prefix) || path.size() <= prefix.size() + 1 || path[prefix.size()] != '/') {
    return {};
  }
  std::string_view rest = path.substr(prefix.size() + 1);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size() ||
      rest.find('/', slash + 1) != std::string_view::npos) {
    return {};
  }
  return std::string(rest.substr(0, slash));
}

std::string WireRewriter::rewriteRecord(std::string_view data, const std::string& service) {
  // ordered_json: the record keeps its key order, only `address` changes.
  auto doc = nlohmann::ordered_json::parse(data.begin(), data.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  auto it = doc.find("address");
  if (it == doc.end() || !it->is_string()) return {};
  *it = service;
  try {
    return doc.dump();
  } catch (const nlohmann::json::exception&) {
    return {};  // invalid UTF-8 elsewhere in the record: leave it alone
  }
}

void WireRewriter::giveUp() {
  passthrough_ = true;
  pending_.clear();
  client_buf_.clear();
}

std::string WireRewriter::fromClient(std::string_view bytes) {
  if (passthrough_) return std::string(bytes);
  client_buf_.append(bytes);
  size_t at = 0;
  while (client_buf_.size() - at >= 4) {
    uint32_t len = readU32(client_buf_, at);
    if (len > options_.max_frame_bytes) {
      giveUp();
      return std::string(bytes);
    }
    if (client_buf_.size() - at - 4 < len) break;
    std::string_view frame(client_buf_.data() + at + 4, len);
    at += 4 + len;
    if (!client_handshake_done_) {
      client_handshake_done_ = true;  // ConnectRequest: nothing to learn
      continue;
    }
    if (frame.size() < 8) {
      giveUp();
      return std::string(bytes);
    }
    int32_t xid = readI32(frame, 0);
    int32_t type = readI32(frame, 4);
    if (type != kOpGetData) continue;
    // GetDataRequest{ustring path; bool watch}
    if (frame.size() < 12) {
      giveUp();
      return std::string(bytes);
    }
    int32_t path_len = readI32(frame, 8);
    if (path_len < 0 || frame.size() < 12 + static_cast<size_t>(path_len)) {
      giveUp();
      return std::string(bytes);
    }
    std::string service = serviceOfInstancePath(options_.root, frame.substr(12, path_len));
    if (!service.empty()) pending_[xid] = std::move(service);
  }
  client_buf_.erase(0, at);
  return std::string(bytes);
}

std::string WireRewriter::rewriteAnswer(std::string frame) {
  // frame: 4-byte length + ReplyHeader + body.
  std::string_view body(frame);
  body.remove_prefix(4);
  if (body.size() < kReplyHeaderBytes) {
    giveUp();
    return frame;
  }
  int32_t xid = readI32(body, 0);
  int32_t err = readI32(body, 12);
  auto it = pending_.find(xid);
  if (it == pending_.end()) return frame;  // not a getData on an instance (or a notification)
  std::string service = std::move(it->second);
  pending_.erase(it);
  if (err != 0) return frame;  // e.g. NONODE: no body
  // GetDataResponse{buffer data; Stat stat}
  size_t data_at = 4 + kReplyHeaderBytes;
  if (frame.size() < data_at + 4) {
    giveUp();
    return frame;
  }
  int32_t data_len = readI32(frame, data_at);
  size_t data_bytes = data_len < 0 ? 0 : static_cast<size_t>(data_len);
  if (frame.size() != data_at + 4 + data_bytes + kStatBytes) {
    giveUp();
    return frame;
  }
  if (data_len <= 0) return frame;
  std::string rewritten =
      rewriteRecord(std::string_view(frame).substr(data_at + 4, data_bytes), service);
  if (rewritten.empty()) return frame;
  std::string out = frame.substr(0, data_at);
  out.append(4, '\0');
  writeU32(out, data_at, static_cast<uint32_t>(rewritten.size()));
  out += rewritten;
  size_t stat_at = out.size();
  out.append(frame, data_at + 4 + data_bytes, kStatBytes);
  writeU32(out, stat_at + kStatDataLengthOffset, static_cast<uint32_t>(rewritten.size()));
  writeU32(out, 0, static_cast<uint32_t>(out.size() - 4));
  ++rewritten_;
  return out;
}

std::string WireRewriter::fromServer(std::string_view bytes) {
  if (passthrough_) {
    std::string out = std::move(server_buf_);
    server_buf_.clear();
    out.append(bytes);
    return out;
  }
  server_buf_.append(bytes);
  std::string out;
  size_t at = 0;
  while (server_buf_.size() - at >= 4) {
    uint32_t len = readU32(server_buf_, at);
    if (len > options_.max_frame_bytes) {
      giveUp();
      break;
    }
    if (server_buf_.size() - at - 4 < len) break;
    std::string frame = server_buf_.substr(at, 4 + len);
    at += 4 + len;
    if (!server_handshake_done_) {
      server_handshake_done_ = true;  // ConnectResponse
      out += frame;
      continue;
    }
    out += rewriteAnswer(std::move(frame));
    if (passthrough_) break;
  }
  if (passthrough_) {
    // Whatever was not forwarded yet goes out as it came.
    out.append(server_buf_, at, std::string::npos);
    server_buf_.clear();
    return out;
  }
  server_buf_.erase(0, at);
  return out;
}

}  // namespace sluice::registry::zookeeper
