#include "http/url.h"

#include "core/strings.h"
#include "net/address.h"

namespace sluice::http {

std::string_view Url::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Url::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

std::string Url::authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (explicit_port) out += ":" + std::to_string(port);
  return out;
}

std::string Url::toString() const { return scheme + "://" + authority() + target; }

Result<Url> parseUrl(std::string_view url) {
  Url out;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    return invalidArgument("URL '{}': expected scheme://host[:port]/path", url);
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalidArgument("URL '{}': contains a space or control character", url);
    }
  }
  out.scheme = toLower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    return invalidArgument("URL '{}': unsupported scheme '{}'", url, out.scheme);
  }
  std::string_view rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find('#'));
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return invalidArgument("URL '{}': userinfo is not supported", url);
  }
  if (authority.empty()) return invalidArgument("URL '{}': empty host", url);
  int default_port = out.scheme == "https" ? 443 : 80;
  auto hp = net::parseHostPort(authority, default_port);
  if (!hp) return invalidArgument("URL '{}': {}", url, hp.error().message);
  out.host = toLower(hp->host);
  out.port = hp->port;
  // parseHostPort fills the default; we need to know whether a port was written.
  out.explicit_port = authority.back() != ']' && authority.find(':') != std::string_view::npos &&
                      (authority.front() == '[' || authority.find(':') == authority.rfind(':'));
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

namespace {
int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string percentDecode(std::string_view s, bool plus_as_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_as_space && c == '+' ? ' ' : c);
  }
  return out;
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                      u == '-' || u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    }
  }
  return out;
}

QueryParams parseQuery(std::string_view query) {
  if (query.starts_with('?')) query.remove_prefix(1);
  QueryParams out;
  for (std::string_view piece : split(query, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view key = piece.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    out.emplace_back(percentDecode(key, true), percentDecode(value, true));
  }
  return out;
}

std::optional<std::string> queryParam(std::string_view query, std::string_view key) {
  for (auto& [k, v] : parseQuery(query)) {
    if (k == key) return std::move(v);
  }
  return std::nullopt;
}

std::string buildQuery(const QueryParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += percentEncode(k);
    out.push_back('=');
    out += percentEncode(v);
  }
  return out;
}

}  // namespace sluice::http
