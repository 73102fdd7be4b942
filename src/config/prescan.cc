#include "config/prescan.h"

#include <fmt/format.h>

#include <vector>

namespace sluice::config {

namespace {

// Length of the UTF-8 sequence at text[i], or 0 when invalid.
size_t utf8Length(std::string_view text, size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return 1;
  size_t len = 0;
  uint32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and values above U+10FFFF are invalid.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return len;
}

// Does the content of a line (indentation already removed) end a block-scalar header
// ("key: |", "- >-", "key: |2  # comment")?
bool opensBlockScalar(std::string_view content) {
  auto hash = content.find(" #");
  if (hash != std::string_view::npos) content = content.substr(0, hash);
  while (!content.empty() && (content.back() == ' ' || content.back() == '\t')) {
    content.remove_suffix(1);
  }
  size_t end = content.size();
  while (end > 0 && (content[end - 1] == '+' || content[end - 1] == '-' ||
                     (content[end - 1] >= '0' && content[end - 1] <= '9'))) {
    --end;
  }
  if (end == 0 || (content[end - 1] != '|' && content[end - 1] != '>')) return false;
  if (end == 1) return true;
  char before = content[end - 2];
  return before == ' ' || before == ':';
}

}  // namespace

std::optional<PrescanProblem> prescanYaml(std::string_view text, int max_depth) {
  // Pass 1: bytes.
  int line = 1;
  int column = 1;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      column = 1;
      ++i;
      continue;
    }
    if (c < 0x20 && c != '\t' && c != '\r') {
      return PrescanProblem{line, column,
                            fmt::format("control character 0x{:02x} is not allowed in YAML "
                                        "(binary data?)",
                                        c)};
    }
    if (c == 0x7F) {
      return PrescanProblem{line, column, "control character 0x7f is not allowed in YAML"};
    }
    size_t len = utf8Length(text, i);
    if (len == 0) {
      return PrescanProblem{line, column,
                            fmt::format("invalid UTF-8 byte 0x{:02x} (binary data?)", c)};
    }
    i += len;
    ++column;
  }

  // Pass 2: lines: tabs in indentation and nesting depth.
  std::vector<int> indents;      // stack of block indentation levels
  int flow_depth = 0;            // open [ and { across lines
  int block_scalar_parent = -1;  // indentation of the line that opened a block scalar
  line = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++line;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);

    size_t indent = 0;
    while (indent < raw.size() && raw[indent] == ' ') ++indent;
    std::string_view content = raw.substr(indent);
    const bool blank = content.find_first_not_of(" \t") == std::string_view::npos;

    if (block_scalar_parent >= 0) {
      if (blank || static_cast<int>(indent) > block_scalar_parent) {
        if (end == text.size()) break;
        continue;  // literal content: anything goes
      }
      block_scalar_parent = -1;
    }
    if (blank || content.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    if (content.front() == '\t' && flow_depth == 0) {
      return PrescanProblem{line, static_cast<int>(indent) + 1,
                            "tab character used for indentation (YAML allows only spaces)"};
    }
    if (content.starts_with("---") || content.starts_with("...")) {
      indents.clear();
      flow_depth = 0;
      if (end == text.size()) break;
      continue;
    }

    if (flow_depth == 0) {
      while (!indents.empty() && indents.back() >= static_cast<int>(indent)) indents.pop_back();
      indents.push_back(static_cast<int>(indent));
    }

    // Sequence / complex-key markers opening nested levels on this line ("- - - x").
    int markers = 0;
    size_t k = 0;
    while (k + 1 < content.size() && (content[k] == '-' || content[k] == '?') &&
           content[k + 1] == ' ') {
      ++markers;
      k += 2;
      while (k < content.size() && content[k] == ' ') ++k;
    }
    if (k + 1 == content.size() && content[k] == '-') ++markers;

    // Flow brackets outside quotes and comments.
    int line_max_flow = flow_depth;
    char quote = 0;
    bool value_start = true;  // at a position where a flow collection may start
    for (size_t p = k; p < content.size(); ++p) {
      char ch = content[p];
      if (quote != 0) {
        if (ch == '\\' && quote == '"') {
          ++p;
        } else if (ch == quote) {
          quote = 0;
        }
        continue;
      }
      if (ch == '#' && (p == 0 || content[p - 1] == ' ' || content[p - 1] == '\t')) break;
      const bool in_flow = flow_depth > 0;
      if ((ch == '"' || ch == '\'') && (value_start || in_flow)) {
        quote = ch;
        continue;
      }
      if ((ch == '[' || ch == '{') && (value_start || in_flow)) {
        ++flow_depth;
        if (flow_depth > line_max_flow) line_max_flow = flow_depth;
        value_start = true;
        continue;
      }
      if ((ch == ']' || ch == '}') && in_flow) {
        --flow_depth;
        continue;
      }
      if (ch == ' ' || ch == '\t') continue;
      if (ch == ',' && in_flow) {
        value_start = true;
        continue;
      }
      if (ch == ':' && (p + 1 == content.size() || content[p + 1] == ' ')) {
        value_start = true;
        continue;
      }
      value_start = false;
    }
    if (quote == 0 && flow_depth == 0 && opensBlockScalar(content)) {
      block_scalar_parent = static_cast<int>(indent);
    }

    const int depth = static_cast<int>(indents.size()) + markers + line_max_flow;
    if (depth > max_depth) {
      return PrescanProblem{line, static_cast<int>(indent) + 1,
                            fmt::format("document is nested deeper than {} levels", max_depth)};
    }
    if (end == text.size()) break;
  }
  return std::nullopt;
}

}  // namespace sluice::config
