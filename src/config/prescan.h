#pragma once
// A cheap byte-level check run before yaml-cpp sees a file, so junk is rejected with a clear
// message instead of reaching a parser that recurses (deep nesting) or misreads it (NUL bytes,
// binary data, tab indentation).

#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

struct PrescanProblem {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
};

// Returns the first problem: a control character other than tab/CR/LF, invalid UTF-8, a tab in
// the indentation of a line (outside block scalars), or nesting deeper than max_depth
// (indentation levels + flow brackets + "- " sequence markers on one line).
std::optional<PrescanProblem> prescanYaml(std::string_view text, int max_depth);

}  // namespace sluice::config
