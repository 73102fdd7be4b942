#include "registry/zookeeper/wire_rewriter.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

namespace sluice::registry::zookeeper {
namespace {

// Jute encoding, as the ZooKeeper client and server write it.
std::string i32(int32_t v) {
  std::string b(4, '\0');
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(static_cast<uint32_t>(v) >> (24 - 8 * i));
  return b;
}
std::string i64(int64_t v) {
  return i32(static_cast<int32_t>(v >> 32)) + i32(static_cast<int32_t>(v));
}
std::string buffer(std::string_view s) {
  return i32(static_cast<int32_t>(s.size())) + std::string(s);
}
std::string frame(const std::string& body) { return i32(static_cast<int32_t>(body.size())) + body; }

std::string stat(int32_t data_length) {
  return i64(11) + i64(12) + i64(13) + i64(14) + i32(1) + i32(2) + i32(3) + i64(0x1234) +
         i32(data_length) + i32(0) + i64(15);
}

std::string connectRequest() {
  return frame(i32(0) + i64(0) + i32(10000) + i64(0) + buffer(std::string(16, '\0')) + '\0');
}
std::string connectResponse() {
  return frame(i32(0) + i32(10000) + i64(0x1000ab) + buffer(std::string(16, 'p')) + '\0');
}
std::string getDataRequest(int32_t xid, std::string_view path) {
  return frame(i32(xid) + i32(4) + buffer(path) + '\1');
}
std::string getChildrenRequest(int32_t xid, std::string_view path) {
  return frame(i32(xid) + i32(8) + buffer(path) + '\1');
}
std::string ping() { return frame(i32(-2) + i32(11)); }
std::string reply(int32_t xid, int32_t err, const std::string& body) {
  return frame(i32(xid) + i64(100 + xid) + i32(err) + body);
}
std::string getDataReply(int32_t xid, std::string_view data) {
  return reply(xid, 0, buffer(data) + stat(static_cast<int32_t>(data.size())));
}
std::string notification(std::string_view path) {
  return reply(-1, 0, i32(3) + i32(3) + buffer(path));  // NodeDataChanged, SyncConnected
}

constexpr const char* kRecord =
    R"({"name":"service-provider","id":"2f1b","address":"10.0.0.11","port":8070,"sslPort":null,)"
    R"("payload":{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",)"
    R"("id":"service-provider","name":"service-provider","metadata":{"label":"v1"}},)"
    R"("registrationTimeUTC":1700000000000,"serviceType":"DYNAMIC"})";

std::string rewrittenRecordFor(const std::string& service) {
  auto doc = nlohmann::ordered_json::parse(kRecord);
  doc["address"] = service;
  return doc.dump();
}
std::string rewrittenRecord() { return rewrittenRecordFor("service-provider"); }

// A session as Curator runs it: handshake, a listing, two getData, a ping, a notification.
struct Session {
  std::string client = connectRequest() + getChildrenRequest(1, "/services/service-provider") +
                       getDataRequest(2, "/services/service-provider/2f1b") + ping() +
                       getDataRequest(3, "/services/service-provider/gone");
  std::string server = connectResponse() + reply(1, 0, i32(1) + buffer("2f1b")) +
                       getDataReply(2, kRecord) + reply(-2, 0, "") +
                       notification("/services/service-provider/2f1b") + reply(3, -101, "");
  std::string expected_server = connectResponse() + reply(1, 0, i32(1) + buffer("2f1b")) +
                                getDataReply(2, rewrittenRecord()) + reply(-2, 0, "") +
                                notification("/services/service-provider/2f1b") +
                                reply(3, -101, "");
};

TEST(ZooKeeperWireRewriter, RewritesInstanceAddressesAndNothingElseAtEverySplit) {
  Session s;
  for (size_t split = 0; split <= s.server.size(); ++split) {
    WireRewriter rw({});
    // Requests are read however they are cut.
    size_t csplit = split % (s.client.size() + 1);
    rw.fromClient(s.client.substr(0, csplit));
    rw.fromClient(s.client.substr(csplit));
    std::string out = rw.fromServer(s.server.substr(0, split));
    out += rw.fromServer(s.server.substr(split));
    ASSERT_EQ(out, s.expected_server) << "split at " << split;
    EXPECT_FALSE(rw.passthrough());
    EXPECT_EQ(rw.rewritten(), 1);
  }
}

TEST(ZooKeeperWireRewriter, ByteByByteBothDirectionsInterleaved) {
  Session s;
  WireRewriter rw({});
  std::string out;
  for (char c : s.client) rw.fromClient(std::string_view(&c, 1));
  for (char c : s.server) out += rw.fromServer(std::string_view(&c, 1));
  EXPECT_EQ(out, s.expected_server);
}

TEST(ZooKeeperWireRewriter, RewrittenAnswerKeepsEveryOtherFieldAndFixesTheLengths) {
  WireRewriter rw({});
  rw.fromClient(connectRequest() + getDataRequest(7, "/services/service-provider/2f1b"));
  std::string out = rw.fromServer(connectResponse() + getDataReply(7, kRecord));
  std::string answer = out.substr(connectResponse().size());
  std::string record = rewrittenRecord();
  ASSERT_EQ(answer, getDataReply(7, record));
  auto doc = nlohmann::ordered_json::parse(record);
  EXPECT_EQ(doc["address"], "service-provider");
  EXPECT_EQ(doc["port"], 8070);
  EXPECT_EQ(doc["payload"]["metadata"]["label"], "v1");
  EXPECT_EQ(doc.begin().key(), "name");  // key order kept
}

TEST(ZooKeeperWireRewriter, OtherPathsAndNonInstanceDataPassUnchanged) {
  WireRewriter rw({.root = "/services"});
  std::string client = connectRequest() + getDataRequest(1, "/services/service-provider") +
                       getDataRequest(2, "/other/p/a") + getDataRequest(3, "/services2/p/a") +
                       getDataRequest(4, "/services/p/a/deeper") +
                       getDataRequest(5, "/services/p/x");
  std::string server = connectResponse() + getDataReply(1, kRecord) + getDataReply(2, kRecord) +
                       getDataReply(3, kRecord) + getDataReply(4, kRecord) +
                       getDataReply(5, "10.0.0.1:80") + reply(6, 0, "");
  rw.fromClient(client);
  EXPECT_EQ(rw.fromServer(server), server);
  EXPECT_EQ(rw.rewritten(), 0);
  EXPECT_FALSE(rw.passthrough());
}

TEST(ZooKeeperWireRewriter, CustomRoot) {
  WireRewriter rw({.root = "/discovery/prod/"});
  rw.fromClient(connectRequest() + getDataRequest(1, "/discovery/prod/orders/i1"));
  std::string out = rw.fromServer(connectResponse() + getDataReply(1, kRecord));
  EXPECT_NE(out.find(R"("address":"orders")"), std::string::npos);
}

TEST(ZooKeeperWireRewriter, MalformedServerFrameRelaysEverythingUnmodifiedFromThenOn) {
  WireRewriter rw({.root = "/services", .max_frame_bytes = 1024});
  rw.fromClient(connectRequest() + getDataRequest(1, "/services/p/a") +
                getDataRequest(2, "/services/p/b"));
  std::string held = rw.fromServer(connectResponse() + getDataReply(1, kRecord).substr(0, 10));
  EXPECT_EQ(held, connectResponse());  // a partial frame waits
  std::string bogus = i32(1 << 20) + "junk";
  std::string rest = getDataReply(1, kRecord).substr(10) + bogus + getDataReply(2, kRecord);
  std::string out = rw.fromServer(rest);
  // The first answer completed before the junk and is rewritten; from the junk on, bytes as is.
  EXPECT_TRUE(rw.passthrough());
  EXPECT_EQ(out, getDataReply(1, rewrittenRecordFor("p")) + bogus + getDataReply(2, kRecord));
}

TEST(ZooKeeperWireRewriter, InconsistentGetDataAnswerIsForwardedAsIsAndStopsRewriting) {
  WireRewriter rw({});
  rw.fromClient(connectRequest() + getDataRequest(1, "/services/p/a") +
                getDataRequest(2, "/services/p/b"));
  // The buffer claims more bytes than the frame holds.
  std::string broken = reply(1, 0, i32(500) + std::string(kRecord) + stat(10));
  std::string server = connectResponse() + broken + getDataReply(2, kRecord);
  EXPECT_EQ(rw.fromServer(server), server);
  EXPECT_TRUE(rw.passthrough());
  rw.fromClient("anything");
  EXPECT_EQ(rw.fromServer("more"), "more");
}

TEST(ZooKeeperWireRewriter, TruncatedRequestHeaderStopsRewriting) {
  WireRewriter rw({});
  std::string client = connectRequest() + frame("abc") + getDataRequest(2, "/services/p/b");
  rw.fromClient(client);
  EXPECT_TRUE(rw.passthrough());
  std::string server = connectResponse() + getDataReply(2, kRecord);
  EXPECT_EQ(rw.fromServer(server), server);
}

TEST(ZooKeeperWireRewriter, UnknownRequestTypeStopsRewriting) {
  WireRewriter rw({});
  // Op 999 is no ZooKeeper request: its answer's shape is unknown, so nothing is rewritten any
  // more, not even the instance record asked for before it.
  std::string client = connectRequest() + getDataRequest(1, "/services/p/a") +
                       frame(i32(2) + i32(999) + "??") + getDataRequest(3, "/services/p/b");
  rw.fromClient(client);
  EXPECT_TRUE(rw.passthrough());
  std::string server =
      connectResponse() + getDataReply(1, kRecord) + reply(2, -6, "") + getDataReply(3, kRecord);
  EXPECT_EQ(rw.fromServer(server), server);
  EXPECT_EQ(rw.rewritten(), 0);
}

TEST(ZooKeeperWireRewriter, EveryZooKeeperRequestTypeIsFollowed) {
  for (int32_t type : {1,  2,  3,  5,  6,  7,   8,   9,   11,  12,  13,  14,  15,  16,  17,
                       18, 19, 20, 21, 22, 100, 101, 102, 103, 104, 105, 106, 107, -10, -11}) {
    WireRewriter rw({});
    rw.fromClient(connectRequest() + frame(i32(1) + i32(type) + buffer("/x")));
    EXPECT_FALSE(rw.passthrough()) << type;
  }
}

TEST(ZooKeeperWireRewriter, WholeFramesWithNothingToRewriteAreForwardedWithoutACopy) {
  WireRewriter rw({});
  rw.fromClient(connectRequest() + getChildrenRequest(1, "/services/p") +
                getDataRequest(2, "/services/p/a"));
  std::string scratch;
  std::string hello = connectResponse() + reply(1, 0, i32(1) + buffer("a"));
  std::string_view out = rw.fromServer(hello, scratch);
  EXPECT_EQ(out.data(), hello.data());
  EXPECT_EQ(out.size(), hello.size());
  // A partial frame: the whole frames before it go out in place, the rest waits.
  std::string ping_and_part = reply(-2, 0, "") + getDataReply(2, kRecord).substr(0, 9);
  out = rw.fromServer(ping_and_part, scratch);
  EXPECT_EQ(out.data(), ping_and_part.data());
  EXPECT_EQ(out, reply(-2, 0, ""));
  // Completing the instance record: rewritten, from the scratch buffer.
  out = rw.fromServer(getDataReply(2, kRecord).substr(9), scratch);
  EXPECT_EQ(out, getDataReply(2, rewrittenRecordFor("p")));
  EXPECT_EQ(out.data(), scratch.data());
}

TEST(ZooKeeperWireRewriter, HeldBackBytesAreFlushedUnchangedWhenTheServerEnds) {
  WireRewriter rw({});
  rw.fromClient(connectRequest() + getDataRequest(2, "/services/p/a"));
  std::string part = getDataReply(2, kRecord).substr(0, 30);
  EXPECT_EQ(rw.fromServer(connectResponse() + part), connectResponse());
  EXPECT_EQ(rw.flushServer(), part);
  EXPECT_EQ(rw.flushServer(), "");
}

TEST(ZooKeeperWireRewriter, PluginStreamInterceptionStartsOneRewriterPerConnection) {
  auto interception = streamInterception();
  ASSERT_NE(interception, nullptr);
  EXPECT_EQ(interception->registry(), "zookeeper");
  auto a = interception->start();
  auto b = interception->start();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(a.get(), b.get());
  a->fromClient(connectRequest() + getDataRequest(1, "/services/service-provider/2f1b"));
  std::string scratch;
  std::string server = connectResponse() + getDataReply(1, kRecord);
  EXPECT_EQ(a->fromServer(server, scratch), connectResponse() + getDataReply(1, rewrittenRecord()));
  EXPECT_EQ(a->rewritten(), 1);
  EXPECT_EQ(b->rewritten(), 0);
}

TEST(ZooKeeperWireRewriter, RootOptionMovesTheInstancePathsItRewrites) {
  auto configured = streamInterception()->withOptions({{"root", "/mesh/services/"}});
  ASSERT_TRUE(configured) << configured.error().message;
  EXPECT_EQ((*configured)->options(),
            (net::StreamInterception::Options{{"root", "/mesh/services"}}));
  EXPECT_EQ(streamInterception()->options().at("root"), "/services");  // the default is untouched
  auto rw = (*configured)->start();
  rw->fromClient(connectRequest() + getDataRequest(1, "/mesh/services/service-provider/2f1b") +
                 getDataRequest(2, "/services/service-provider/2f1b"));
  std::string scratch;
  std::string server = connectResponse() + getDataReply(1, kRecord) + getDataReply(2, kRecord);
  EXPECT_EQ(rw->fromServer(server, scratch),
            connectResponse() + getDataReply(1, rewrittenRecord()) + getDataReply(2, kRecord));
  EXPECT_EQ(rw->rewritten(), 1);
}

TEST(ZooKeeperWireRewriter, UnknownOptionsAndBadRootsAreRefusedByName) {
  auto unknown = streamInterception()->withOptions({{"rot", "/x"}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown option 'rot'"), std::string::npos);
  for (const char* bad : {"services", "/", "", "/a//b", "/a/../b", "/./a"}) {
    auto r = streamInterception()->withOptions({{"root", bad}});
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("not an absolute znode path"), std::string::npos) << bad;
  }
}

TEST(ZooKeeperWireRewriter, InstancePathsUnderTheRoot) {
  EXPECT_EQ(WireRewriter::serviceOfInstancePath("/services", "/services/p/a"), "p");
  EXPECT_EQ(WireRewriter::serviceOfInstancePath("/", "/p/a"), "p");
  for (const char* not_instance : {"/services", "/services/p", "/services/p/", "/services//a",
                                   "/services/p/a/b", "/servicesx/p/a", "/other/p/a", ""}) {
    EXPECT_EQ(WireRewriter::serviceOfInstancePath("/services", not_instance), "") << not_instance;
  }
}

// ---- recorded real sessions (tests/data/zookeeper/README.md) ----

struct Chunk {
  bool from_client;
  std::string bytes;
};

std::vector<Chunk> loadSession(const std::string& name) {
  std::ifstream in(std::string(SLUICE_SOURCE_DIR) + "/tests/data/zookeeper/" + name);
  std::vector<Chunk> out;
  std::string dir, hex;
  while (in >> dir >> hex) {
    std::string bytes;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    out.push_back({dir == "C", bytes});
  }
  return out;
}

// Length-prefixed frames of a stream.
std::vector<std::string> frames(const std::string& stream) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at + 4 <= stream.size()) {
    uint32_t len = (uint32_t(uint8_t(stream[at])) << 24) |
                   (uint32_t(uint8_t(stream[at + 1])) << 16) |
                   (uint32_t(uint8_t(stream[at + 2])) << 8) | uint32_t(uint8_t(stream[at + 3]));
    out.push_back(stream.substr(at, 4 + len));
    at += 4 + len;
  }
  EXPECT_EQ(at, stream.size());
  return out;
}

class RecordedSession : public ::testing::TestWithParam<const char*> {};

TEST_P(RecordedSession, OnlyInstanceRecordsChangeAndTheClientSeesServiceNames) {
  auto chunks = loadSession(GetParam());
  ASSERT_FALSE(chunks.empty()) << GetParam();
  WireRewriter rw({});
  std::string server_in, server_out;
  for (const auto& c : chunks) {
    if (c.from_client) {
      rw.fromClient(c.bytes);
    } else {
      server_in += c.bytes;
      server_out += rw.fromServer(c.bytes);
    }
  }
  EXPECT_FALSE(rw.passthrough()) << GetParam();
  EXPECT_GT(rw.rewritten(), 0) << GetParam();
  auto in = frames(server_in);
  auto out = frames(server_out);
  ASSERT_EQ(in.size(), out.size());
  int changed = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == out[i]) continue;
    ++changed;
    // A getData answer whose record now names its service; same header (xid, zxid, err).
    EXPECT_EQ(in[i].substr(4, 16), out[i].substr(4, 16));
    size_t json = out[i].find('{');
    ASSERT_NE(json, std::string::npos);
    auto doc =
        nlohmann::json::parse(out[i].substr(json, out[i].size() - json - 68), nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << out[i];
    EXPECT_TRUE(doc["address"] == "service-provider" || doc["address"] == "service-consumer" ||
                doc["address"] == "consumer")
        << doc.dump();
  }
  EXPECT_EQ(changed, rw.rewritten());
}

INSTANTIATE_TEST_SUITE_P(ZooKeeperWireRewriter, RecordedSession,
                         ::testing::Values("node_client_session.txt", "c_client_session.txt",
                                           "curator_session.txt"));

}  // namespace
}  // namespace sluice::registry::zookeeper
