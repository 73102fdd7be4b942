#pragma once
// Name and host syntax rules as Istio applies them (pkg/config/validation, pkg/config/host).
// Each check returns std::nullopt when the input is valid, else a message saying what is wrong.

#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

// [a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?, at most 63 characters.
bool isDns1123Label(std::string_view s);
// Lower-case DNS-1123 subdomain (Kubernetes object names), at most 253 characters.
bool isDns1123Subdomain(std::string_view s);
bool isIpAddress(std::string_view s);

// A DNS name, optionally with a leading "*." wildcard (or "*" alone) when allow_wildcard.
// IP addresses are accepted.
std::optional<std::string> checkHost(std::string_view host, bool allow_wildcard = true);

// An HTTP header field name (RFC 9110 token).
bool isHeaderToken(std::string_view name);

// Does `host` (possibly "*.x" or "*") match `pattern` (possibly wildcard)? Symmetric overlap as
// Istio's host.Name.Matches.
bool hostsOverlap(std::string_view a, std::string_view b);

}  // namespace sluice::config
