#pragma once
// Small string helpers used across modules (ASCII only: HTTP and Istio names are ASCII).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

inline char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
std::string toLower(std::string_view s);
bool equalsIgnoreCase(std::string_view a, std::string_view b);
bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);
std::string_view trim(std::string_view s);  // spaces and tabs
std::vector<std::string_view> split(std::string_view s, char sep);
// Parses a whole decimal number in [0, max]; nullopt on junk, sign, overflow or empty input.
std::optional<uint64_t> parseUint(std::string_view s, uint64_t max = UINT64_MAX);

}  // namespace sluice
