#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/h2/session.h"
#include "http/h2/upgrade.h"

namespace sluice::http::h2 {
namespace {

// What `curl --http2 http://...` (7.88, Debian bookworm) sends: MAX_CONCURRENT_STREAMS 100,
// INITIAL_WINDOW_SIZE 32 MiB, ENABLE_PUSH 0.
constexpr std::string_view kCurlSettings = "AAMAAABkAAQCAAAAAAIAAAAA";

std::string setting(uint16_t id, uint32_t value) {
  std::string s;
  s.push_back(static_cast<char>(id >> 8));
  s.push_back(static_cast<char>(id & 0xff));
  for (int shift = 24; shift >= 0; shift -= 8)
    s.push_back(static_cast<char>((value >> shift) & 0xff));
  return s;
}

TEST(Http2Settings, DecodesWhatCurlSends) {
  auto payload = decodeHttp2Settings(kCurlSettings);
  ASSERT_TRUE(payload.has_value());
  EXPECT_EQ(*payload, setting(0x3, 100) + setting(0x4, 0x2000000) + setting(0x2, 0));
}

// Whole settings (6 bytes, 8 characters each) never need padding; a client that adds some anyway
// is not refused for it.
TEST(Http2Settings, SurroundingSpaceAndStrayPaddingAreTolerated) {
  std::string one = setting(0x1, 4096);
  EXPECT_EQ(encodeHttp2Settings(one), "AAEAABAA");
  EXPECT_EQ(decodeHttp2Settings(" " + encodeHttp2Settings(one) + " "), one);
  std::string two = one + setting(0x3, 1);
  EXPECT_EQ(decodeHttp2Settings(encodeHttp2Settings(two) + "=="), two);
}

TEST(Http2Settings, UsesTheUrlAlphabetOnly) {
  // 0xfb 0xff...: '-' and '_' in base64url, '+' and '/' in base64.
  std::string payload = setting(0xfbff, 0xfbfffbff);
  std::string url = encodeHttp2Settings(payload);
  ASSERT_NE(url.find_first_of("-_"), std::string::npos) << url;
  EXPECT_EQ(decodeHttp2Settings(url), payload);
  std::string classic = url;
  for (char& c : classic) c = c == '-' ? '+' : c == '_' ? '/' : c;
  EXPECT_FALSE(decodeHttp2Settings(classic).has_value()) << classic;
}

TEST(Http2Settings, RejectsWhatIsNoSettingsPayload) {
  EXPECT_FALSE(decodeHttp2Settings("").has_value());
  EXPECT_FALSE(decodeHttp2Settings("   ").has_value());
  // Found by fuzz target http2_upgrade (regress-settings-only-padding): was taken as no settings.
  EXPECT_FALSE(decodeHttp2Settings(" =").has_value()) << "padding alone";
  EXPECT_FALSE(decodeHttp2Settings("==").has_value()) << "padding alone";
  EXPECT_FALSE(decodeHttp2Settings("AAMAA").has_value()) << "a lone sixth-bit character";
  EXPECT_FALSE(decodeHttp2Settings("AAMAAA").has_value()) << "4 bytes: not whole settings";
  EXPECT_FALSE(decodeHttp2Settings("AAMA AABk").has_value());
  EXPECT_FALSE(decodeHttp2Settings("AAMAAABk!").has_value());
}

TEST(Http2Settings, RejectsValuesRfc9113Forbids) {
  EXPECT_FALSE(decodeHttp2Settings(encodeHttp2Settings(setting(0x2, 2))).has_value())
      << "ENABLE_PUSH 2";
  EXPECT_FALSE(decodeHttp2Settings(encodeHttp2Settings(setting(0x4, 0x80000000))).has_value())
      << "INITIAL_WINDOW_SIZE above 2^31-1";
  EXPECT_FALSE(decodeHttp2Settings(encodeHttp2Settings(setting(0x5, 16383))).has_value())
      << "MAX_FRAME_SIZE below 16384";
  EXPECT_FALSE(decodeHttp2Settings(encodeHttp2Settings(setting(0x5, 16777216))).has_value())
      << "MAX_FRAME_SIZE above 2^24-1";
  EXPECT_TRUE(decodeHttp2Settings(encodeHttp2Settings(setting(0x5, 16777215))).has_value());
  EXPECT_TRUE(decodeHttp2Settings(encodeHttp2Settings(setting(0x4, 0x7fffffff))).has_value());
  // An unknown setting is ignored (RFC 9113 §6.5.2), whatever its value.
  EXPECT_TRUE(decodeHttp2Settings(encodeHttp2Settings(setting(0xabcd, 0xffffffff))).has_value());
}

RequestHead curlUpgrade() {
  RequestHead h;
  h.method = "GET";
  h.target = h.path = "/v1/x";
  h.authority = "echo.mesh.local";
  h.headers.add("Host", "echo.mesh.local");
  h.headers.add("User-Agent", "curl/7.88.1");
  h.headers.add("Connection", "Upgrade, HTTP2-Settings");
  h.headers.add("Upgrade", "h2c");
  h.headers.add("HTTP2-Settings", kCurlSettings);
  return h;
}

TEST(H2cUpgradeDecision, CurlsRequestIsUpgradedWithItsSettings) {
  H2cUpgrade u = h2cUpgradeOf(curlUpgrade(), false);
  EXPECT_EQ(u.verdict, H2cVerdict::kUpgrade);
  EXPECT_EQ(u.settings, *decodeHttp2Settings(kCurlSettings));
}

TEST(H2cUpgradeDecision, TokensAreCaseInsensitiveAndMayShareTheList) {
  RequestHead h = curlUpgrade();
  h.headers.set("Upgrade", "websocket, H2C");
  h.headers.set("Connection", "keep-alive, upgrade, http2-settings");
  EXPECT_EQ(h2cUpgradeOf(h, false).verdict, H2cVerdict::kUpgrade);
}

TEST(H2cUpgradeDecision, OtherUpgradesAreNotH2cBusiness) {
  RequestHead h = curlUpgrade();
  h.headers.set("Upgrade", "websocket");
  EXPECT_EQ(h2cUpgradeOf(h, false).verdict, H2cVerdict::kNone);
  h.headers.remove("upgrade");
  EXPECT_EQ(h2cUpgradeOf(h, false).verdict, H2cVerdict::kNone);
}

TEST(H2cUpgradeDecision, IgnoredWhenItCannotBeHonoured) {
  struct Case {
    std::string name;
    void (*change)(RequestHead&);
    bool has_body;
  };
  const std::vector<Case> cases = {
      {"a body", [](RequestHead&) {}, true},
      {"no HTTP2-Settings", [](RequestHead& h) { h.headers.remove("http2-settings"); }, false},
      {"two HTTP2-Settings", [](RequestHead& h) { h.headers.add("HTTP2-Settings", ""); }, false},
      {"bad HTTP2-Settings", [](RequestHead& h) { h.headers.set("HTTP2-Settings", "%%"); }, false},
      {"settings out of range",
       [](RequestHead& h) {
         h.headers.set("HTTP2-Settings", encodeHttp2Settings(setting(0x2, 7)));
       },
       false},
      {"no Connection: upgrade",
       [](RequestHead& h) { h.headers.set("Connection", "HTTP2-Settings"); }, false},
      {"HTTP/1.0", [](RequestHead& h) { h.version = Version::kHttp10; }, false},
  };
  for (const Case& c : cases) {
    RequestHead h = curlUpgrade();
    c.change(h);
    H2cUpgrade u = h2cUpgradeOf(h, c.has_body);
    EXPECT_EQ(u.verdict, H2cVerdict::kIgnore) << c.name;
    EXPECT_FALSE(u.why.empty()) << c.name;
    EXPECT_TRUE(u.settings.empty()) << c.name;
  }
}

std::string fields(const Headers& h) {
  std::string s;
  for (const auto& [n, v] : h.entries()) s += n + "=" + v + ";";
  return s;
}

TEST(RemoveH2cUpgrade, HttpSettingsGoesAndH2cLeavesUpgrade) {
  RequestHead h = curlUpgrade();
  removeH2cUpgrade(h.headers);
  EXPECT_EQ(fields(h.headers),
            "Host=echo.mesh.local;User-Agent=curl/7.88.1;Connection=Upgrade, HTTP2-Settings;");
}

TEST(RemoveH2cUpgrade, AWebSocketUpgradeBesideItStays) {
  Headers h;
  h.add("Connection", "Upgrade");
  h.add("Upgrade", "h2c, websocket");
  h.add("HTTP2-Settings", "AAMAAABk");
  removeH2cUpgrade(h);
  EXPECT_EQ(fields(h), "Connection=Upgrade;Upgrade=websocket;");
}

TEST(RemoveH2cUpgrade, HttpSettingsWithoutH2cGoesToo) {
  Headers h;
  h.add("Upgrade", "websocket");
  h.add("http2-settings", "AAMAAABk");
  removeH2cUpgrade(h);
  EXPECT_EQ(fields(h), "Upgrade=websocket;");
}

// The session side of the upgrade: a client and a server session that both start from the
// HTTP/1.1 exchange, back to back.
struct Events final : SessionCallbacks {
  std::vector<std::string> events;
  void onRequestHead(int32_t stream, RequestHead& h, bool end) override {
    events.push_back("request " + std::to_string(stream) + " " + h.path + (end ? " end" : ""));
  }
  void onResponseHead(int32_t stream, ResponseHead& h, bool end) override {
    events.push_back("response " + std::to_string(stream) + " " + std::to_string(h.status) +
                     (end ? " end" : ""));
  }
  void onData(int32_t stream, std::string_view d) override {
    events.push_back("data " + std::to_string(stream) + " " + std::string(d));
  }
  void onClose(int32_t stream, ErrorCode code) override {
    events.push_back("close " + std::to_string(stream) + " " + std::string(errorCodeName(code)));
  }
};

void pump(Session& client, Session& server) {
  for (int round = 0; round < 20; ++round) {
    std::string c2s, s2c;
    client.takeOutput(c2s);
    server.takeOutput(s2c);
    if (c2s.empty() && s2c.empty()) return;
    if (!c2s.empty()) {
      ASSERT_TRUE(server.receive(c2s).has_value());
    }
    if (!s2c.empty()) {
      ASSERT_TRUE(client.receive(s2c).has_value());
    }
  }
}

TEST(H2SessionUpgrade, StreamOneAnswersTheUpgradedRequestAndTheNextStreamIsThree) {
  Events client_ev, server_ev;
  auto client = Session::client({}, client_ev);
  auto server = Session::server({}, server_ev);
  std::string settings = *decodeHttp2Settings(kCurlSettings);
  ASSERT_TRUE(client->upgrade(settings, false).has_value());
  ASSERT_TRUE(server->upgrade(settings, false).has_value());
  EXPECT_EQ(server->openStreams(), 1u);
  ResponseHead resp;
  resp.status = 200;
  ASSERT_TRUE(server->submitResponse(1, resp, false).has_value());
  server->sendData(1, "one", true);
  pump(*client, *server);
  RequestHead next;
  next.method = "GET";
  next.authority = "echo.mesh.local";
  next.path = "/second";
  auto id = client->submitRequest(next, true);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(*id, 3);
  pump(*client, *server);
  EXPECT_EQ(server_ev.events,
            (std::vector<std::string>{"close 1 NO_ERROR", "request 3 /second end"}));
  EXPECT_EQ(client_ev.events,
            (std::vector<std::string>{"response 1 200", "data 1 one", "close 1 NO_ERROR"}));
}

TEST(H2SessionUpgrade, ASessionThatHasBegunRefusesIt) {
  Events ev;
  auto server = Session::server({}, ev);
  std::string settings = *decodeHttp2Settings(kCurlSettings);
  ASSERT_TRUE(server->upgrade(settings, false).has_value());
  EXPECT_FALSE(server->upgrade(settings, false).has_value()) << "stream 1 exists already";
}

// Found by fuzz target http2_upgrade (regress-settings-more-than-nghttp2-takes): nghttp2 refused
// the upgrade after the decision to take it.
TEST(Http2Settings, AtMost32SettingsAsNghttp2TakesInOneFrame) {
  std::string payload;
  for (int i = 0; i < 32; ++i) payload += setting(0xabcd, static_cast<uint32_t>(i));
  EXPECT_TRUE(decodeHttp2Settings(encodeHttp2Settings(payload)).has_value());
  Events ev;
  auto server = Session::server({}, ev);
  EXPECT_TRUE(server->upgrade(payload, false).has_value());
  payload += setting(0xabcd, 32);
  EXPECT_FALSE(decodeHttp2Settings(encodeHttp2Settings(payload)).has_value());
  auto other = Session::server({}, ev);
  EXPECT_FALSE(other->upgrade(payload, false).has_value()) << "nghttp2's own limit";
}

}  // namespace
}  // namespace sluice::http::h2
