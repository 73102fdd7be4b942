#include "registry/zookeeper/wire_rewriter.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::registry::zookeeper {

namespace {

constexpr int32_t kOpGetData = 4;
constexpr size_t kStatBytes = 68;
constexpr size_t kStatDataLengthOffset = 52;
constexpr size_t kReplyHeaderBytes = 16;  // xid(4) zxid(8) err(4)

// ZooDefs.OpCode (ZooKeeper 3.9): every request type a client may send after the handshake.
bool knownOpCode(int32_t type) {
  switch (type) {
    case -11:  // closeSession
    case -10:  // createSession
    case 100:  // auth
    case 101:  // setWatches
    case 102:  // sasl
    case 103:  // getEphemerals
    case 104:  // getAllChildrenNumber
    case 105:  // setWatches2
    case 106:  // addWatch
    case 107:  // whoAmI
      return true;
    default:
      // 1..22: create .. multiRead (10 is unassigned; 0 and -1 are never requests)
      return type >= 1 && type <= 22 && type != 10;
  }
}

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

void WireRewriter::fromClient(std::string_view bytes) {
  if (passthrough_) return;
  client_buf_.append(bytes);
  size_t at = 0;
  while (client_buf_.size() - at >= 4) {
    uint32_t len = readU32(client_buf_, at);
    if (len > options_.max_frame_bytes) {
      giveUp();
      return;
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
      return;
    }
    int32_t xid = readI32(frame, 0);
    int32_t type = readI32(frame, 4);
    if (!knownOpCode(type)) {
      // A request this parser does not know may be answered in a shape it does not know either.
      giveUp();
      return;
    }
    if (type != kOpGetData) continue;
    // GetDataRequest{ustring path; bool watch}
    if (frame.size() < 12) {
      giveUp();
      return;
    }
    int32_t path_len = readI32(frame, 8);
    if (path_len < 0 || frame.size() < 12 + static_cast<size_t>(path_len)) {
      giveUp();
      return;
    }
    std::string service = serviceOfInstancePath(options_.root, frame.substr(12, path_len));
    if (!service.empty()) pending_[xid] = std::move(service);
  }
  client_buf_.erase(0, at);
}

std::optional<std::string> WireRewriter::rewriteAnswer(std::string_view frame) {
  // frame: 4-byte length + ReplyHeader + body.
  std::string_view body = frame.substr(4);
  if (body.size() < kReplyHeaderBytes) {
    giveUp();
    return std::nullopt;
  }
  int32_t xid = readI32(body, 0);
  int32_t err = readI32(body, 12);
  auto it = pending_.find(xid);
  if (it == pending_.end())
    return std::nullopt;  // not a getData on an instance (or a notification)
  std::string service = std::move(it->second);
  pending_.erase(it);
  if (err != 0) return std::nullopt;  // e.g. NONODE: no body
  // GetDataResponse{buffer data; Stat stat}
  size_t data_at = 4 + kReplyHeaderBytes;
  if (frame.size() < data_at + 4) {
    giveUp();
    return std::nullopt;
  }
  int32_t data_len = readI32(frame, data_at);
  size_t data_bytes = data_len < 0 ? 0 : static_cast<size_t>(data_len);
  if (frame.size() != data_at + 4 + data_bytes + kStatBytes) {
    giveUp();
    return std::nullopt;
  }
  if (data_len <= 0) return std::nullopt;
  std::string rewritten = rewriteRecord(frame.substr(data_at + 4, data_bytes), service);
  if (rewritten.empty()) return std::nullopt;
  std::string out(frame.substr(0, data_at));
  out.append(4, '\0');
  writeU32(out, data_at, static_cast<uint32_t>(rewritten.size()));
  out += rewritten;
  size_t stat_at = out.size();
  out.append(frame.substr(data_at + 4 + data_bytes, kStatBytes));
  writeU32(out, stat_at + kStatDataLengthOffset, static_cast<uint32_t>(rewritten.size()));
  writeU32(out, 0, static_cast<uint32_t>(out.size() - 4));
  ++rewritten_;
  return out;
}

std::string_view WireRewriter::fromServer(std::string_view bytes, std::string& scratch) {
  scratch.clear();
  if (passthrough_) {
    if (server_buf_.empty()) return bytes;
    scratch = std::move(server_buf_);
    server_buf_.clear();
    scratch.append(bytes);
    return scratch;
  }
  // Frames are read in place: from `bytes` when nothing was held back, else from the held bytes
  // with `bytes` appended. `scratch` is only written once a frame is rewritten (or the input was
  // held): [0, copied) of `data` is in it by then.
  const bool held = !server_buf_.empty();
  if (held) server_buf_.append(bytes);
  std::string_view data = held ? std::string_view(server_buf_) : bytes;
  bool owned = held;
  size_t copied = 0;
  size_t at = 0;
  while (data.size() - at >= 4) {
    uint32_t len = readU32(data, at);
    if (len > options_.max_frame_bytes) {
      giveUp();
      break;
    }
    if (data.size() - at - 4 < len) break;
    size_t frame_at = at;
    at += 4 + len;
    if (!server_handshake_done_) {
      server_handshake_done_ = true;  // ConnectResponse
      continue;
    }
    auto replaced = rewriteAnswer(data.substr(frame_at, 4 + len));
    if (replaced) {
      scratch.append(data.substr(copied, frame_at - copied));
      scratch += *replaced;
      copied = at;
      owned = true;
    }
    if (passthrough_) break;
  }
  // In passthrough whatever was not forwarded yet goes out as it came; else an incomplete frame
  // waits for its rest.
  const size_t forward_end = passthrough_ ? data.size() : at;
  if (!owned) {
    server_buf_.assign(data.substr(forward_end));
    return bytes.substr(0, forward_end);
  }
  scratch.append(data.substr(copied, forward_end - copied));
  std::string rest(data.substr(forward_end));  // `data` may view server_buf_
  server_buf_ = std::move(rest);
  return scratch;
}

std::string WireRewriter::fromServer(std::string_view bytes) {
  std::string scratch;
  return std::string(fromServer(bytes, scratch));
}

std::string WireRewriter::flushServer() {
  std::string out = std::move(server_buf_);
  server_buf_.clear();
  return out;
}

namespace {

class ZooKeeperStreamInterception final : public net::StreamInterception {
 public:
  explicit ZooKeeperStreamInterception(WireRewriter::Options options)
      : options_(std::move(options)) {}

  std::string_view registry() const override { return "zookeeper"; }
  std::unique_ptr<net::StreamRewriter> start() const override {
    return std::make_unique<WireRewriter>(options_);
  }
  Options options() const override { return {{"root", options_.root}}; }

  // `root`: where the application's service discovery keeps its instances (Spring Cloud
  // Zookeeper's spring.cloud.zookeeper.discovery.root), an absolute znode path.
  Result<std::shared_ptr<const net::StreamInterception>> withOptions(
      const Options& options) const override {
    WireRewriter::Options applied = options_;
    for (const auto& [name, value] : options) {
      if (name != "root") {
        return invalidArgument("unknown option '{}' (the zookeeper interception takes: root)",
                               name);
      }
      std::string_view root = value;
      while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
      bool valid = root.size() > 1 && root.front() == '/';
      for (size_t at = 1; valid && at <= root.size();) {
        size_t end = std::min(root.find('/', at), root.size());
        std::string_view segment = root.substr(at, end - at);
        valid = !segment.empty() && segment != "." && segment != "..";
        at = end + 1;
      }
      if (!valid) {
        return invalidArgument(
            "root '{}' is not an absolute znode path below / (Curator's default: /services)",
            value);
      }
      applied.root = std::string(root);
    }
    return std::make_shared<const ZooKeeperStreamInterception>(std::move(applied));
  }

 private:
  WireRewriter::Options options_;
};

}  // namespace

std::shared_ptr<const net::StreamInterception> streamInterception() {
  static const auto kInterception =
      std::make_shared<const ZooKeeperStreamInterception>(WireRewriter::Options{});
  return kInterception;
}

}  // namespace sluice::registry::zookeeper
