#include "http/h2/upgrade.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <vector>

#include "core/base64.h"
#include "core/strings.h"
#include "http/codec.h"

namespace sluice::http::h2 {

namespace {

// The settings whose values RFC 9113 §6.5.2 (and RFC 8441 §3, RFC 9218 §2.1) bound; any other
// identifier, known or not, takes any value (unknown ones are ignored, §6.5.2).
struct SettingRange {
  uint16_t id;
  uint32_t min;
  uint32_t max;
};
constexpr std::array<SettingRange, 5> kBoundedSettings{{
    {0x2, 0, 1},             // SETTINGS_ENABLE_PUSH
    {0x4, 0, 0x7fffffff},    // SETTINGS_INITIAL_WINDOW_SIZE
    {0x5, 16384, 16777215},  // SETTINGS_MAX_FRAME_SIZE
    {0x8, 0, 1},             // SETTINGS_ENABLE_CONNECT_PROTOCOL
    {0x9, 0, 1},             // SETTINGS_NO_RFC7540_PRIORITIES
}};

// nghttp2 takes at most this many settings in one SETTINGS frame from a peer (its max_settings
// option, a bound against floods), the upgrade's too: more would fail the upgrade after the
// decision.
constexpr size_t kMaxSettings = 32;

bool settingValueAllowed(uint16_t id, uint32_t value) {
  for (const SettingRange& r : kBoundedSettings) {
    if (r.id == id) return value >= r.min && value <= r.max;
  }
  return true;
}

bool listsToken(std::string_view list, std::string_view token) {
  for (std::string_view item : split(list, ',')) {
    if (equalsIgnoreCase(trim(item), token)) return true;
  }
  return false;
}

}  // namespace

std::string encodeHttp2Settings(std::string_view payload) { return encodeBase64Url(payload); }

std::optional<std::string> decodeHttp2Settings(std::string_view value) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  auto payload = decodeBase64(value, Base64Input::kStrictUrl);
  if (!payload || payload->size() % 6 != 0) return std::nullopt;
  if (payload->size() / 6 > kMaxSettings) return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(payload->data());
  for (size_t i = 0; i < payload->size(); i += 6) {
    auto id = static_cast<uint16_t>((p[i] << 8) | p[i + 1]);
    uint32_t v = (uint32_t{p[i + 2]} << 24) | (uint32_t{p[i + 3]} << 16) |
                 (uint32_t{p[i + 4]} << 8) | uint32_t{p[i + 5]};
    if (!settingValueAllowed(id, v)) return std::nullopt;
  }
  return payload;
}

H2cUpgrade h2cUpgradeOf(const RequestHead& head, bool has_body) {
  H2cUpgrade out;
  auto upgrade = head.headers.getJoined("upgrade");
  if (!upgrade || !listsToken(*upgrade, "h2c")) return out;
  out.verdict = H2cVerdict::kIgnore;
  // RFC 9110 §7.8: an HTTP/1.0 request's Upgrade is ignored, as is one Connection does not name.
  if (head.version != Version::kHttp11) {
    out.why = "an HTTP/1.0 request";
    return out;
  }
  if (!connectionHas(head.headers, "upgrade")) {
    out.why = "Connection does not list upgrade";
    return out;
  }
  if (has_body) {
    out.why = "the request has a body";
    return out;
  }
  // RFC 7540 §3.2.1: not upgraded without exactly one HTTP2-Settings.
  if (head.headers.count("http2-settings") != 1) {
    out.why = "not exactly one HTTP2-Settings";
    return out;
  }
  auto settings = decodeHttp2Settings(*head.headers.get("http2-settings"));
  if (!settings) {
    out.why = "HTTP2-Settings is not a valid SETTINGS payload";
    return out;
  }
  out.verdict = H2cVerdict::kUpgrade;
  out.settings = std::move(*settings);
  return out;
}

void removeH2cUpgrade(Headers& headers) {
  headers.remove("http2-settings");
  auto upgrade = headers.getJoined("upgrade");
  if (!upgrade || !listsToken(*upgrade, "h2c")) return;
  std::string rest;
  for (std::string_view item : split(*upgrade, ',')) {
    item = trim(item);
    if (item.empty() || equalsIgnoreCase(item, "h2c")) continue;
    if (!rest.empty()) rest += ", ";
    rest += item;
  }
  if (rest.empty()) {
    headers.remove("upgrade");
    return;
  }
  // The field keeps its place and the spelling of its name (forwarded as received).
  auto& entries = headers.entries();
  auto isUpgrade = [](const Headers::Entry& e) { return equalsIgnoreCase(e.first, "upgrade"); };
  auto first = std::find_if(entries.begin(), entries.end(), isUpgrade);
  first->second = std::move(rest);
  entries.erase(std::remove_if(std::next(first), entries.end(), isUpgrade), entries.end());
}

}  // namespace sluice::http::h2
