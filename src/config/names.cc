#include "config/names.h"

#include <fmt/format.h>

#include "core/strings.h"
#include "net/address.h"

namespace sluice::config {

namespace {
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
}  // namespace

bool isDns1123Label(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!isAlnum(s.front()) || !isAlnum(s.back())) return false;
  for (char c : s) {
    if (!isAlnum(c) && c != '-') return false;
  }
  return true;
}

bool isDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (auto part : split(s, '.')) {
    if (!isDns1123Label(part)) return false;
    for (char c : part) {
      if (c >= 'A' && c <= 'Z') return false;
    }
  }
  return true;
}

bool isIpAddress(std::string_view s) { return net::IpAddress::parse(s).has_value(); }

std::optional<std::string> checkHost(std::string_view host, bool allow_wildcard) {
  if (host.empty()) return std::string("empty domain name not allowed");
  if (isIpAddress(host)) return std::nullopt;
  if (host.size() > 255) {
    return fmt::format("domain name \"{}...\" too long (max 255)", host.substr(0, 32));
  }
  std::string_view rest = host;
  if (host == "*") {
    if (allow_wildcard) return std::nullopt;
    return std::string("wildcard host * is not allowed here");
  }
  if (host.starts_with("*.")) {
    if (!allow_wildcard) return fmt::format("wildcard host \"{}\" is not allowed here", host);
    rest = host.substr(2);
  }
  if (rest.ends_with('.')) rest.remove_suffix(1);  // a trailing dot is a fully qualified name
  auto labels = split(rest, '.');
  for (auto label : labels) {
    if (label.find('*') != std::string_view::npos) {
      return fmt::format("partial wildcard \"{}\" not allowed", host);
    }
    if (!isDns1123Label(label)) {
      return fmt::format("domain name \"{}\" invalid (label \"{}\" invalid)", host, label);
    }
  }
  if (labels.size() > 1) {
    auto tld = labels.back();
    if (parseUint(tld).has_value()) {
      return fmt::format(
          "domain name \"{}\" invalid (top level domain \"{}\" cannot be "
          "all-numeric)",
          host, tld);
    }
  }
  return std::nullopt;
}

bool isHeaderToken(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (isAlnum(c)) continue;
    switch (c) {
      case '!':
      case '#':
      case '$':
      case '%':
      case '&':
      case '\'':
      case '*':
      case '+':
      case '-':
      case '.':
      case '^':
      case '_':
      case '`':
      case '|':
      case '~':
        continue;
      default:
        return false;
    }
  }
  return true;
}

bool hostsOverlap(std::string_view a, std::string_view b) {
  std::string la = toLower(a);
  std::string lb = toLower(b);
  if (la == lb || la == "*" || lb == "*") return true;
  const bool wa = la.starts_with("*.");
  const bool wb = lb.starts_with("*.");
  if (wa && wb) {
    // Either suffix contains the other.
    std::string_view sa = std::string_view(la).substr(1);  // ".foo.com"
    std::string_view sb = std::string_view(lb).substr(1);
    return sa.ends_with(sb) || sb.ends_with(sa);
  }
  if (wa) return lb.ends_with(std::string_view(la).substr(1));
  if (wb) return la.ends_with(std::string_view(lb).substr(1));
  return false;
}

}  // namespace sluice::config
