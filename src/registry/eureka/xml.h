#pragma once
// The small XML subset Eureka speaks (XStream output of the Netflix server, what Java clients
// send): a prolog, comments, elements with attributes, text, CDATA and the predefined and numeric
// character references. DOCTYPE and processing instructions other than the prolog are refused:
// nothing Eureka sends needs them and they are how XML parsers get attacked.
//
// Plain functions, no state.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace sluice::registry::eureka::xml {

struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  std::string text;  // the element's own character data, concatenated, untrimmed
  std::vector<Element> children;

  // First child called `name`, or nullptr.
  const Element* child(std::string_view name) const;
  // The trimmed text of the first child called `name`; empty when there is none.
  std::string childText(std::string_view name) const;
  // Value of attribute `name`, or nullptr.
  const std::string* attribute(std::string_view name) const;
};

struct ParseLimits {
  size_t max_depth = 32;
  size_t max_elements = 1'000'000;
};

// Parses one document whose root element is returned. Errors (kInvalidArgument, source
// kRegistry) name the byte offset and what was expected.
Result<Element> parse(std::string_view document, ParseLimits limits = {});

// Escapes &, <, >, " and ' for text and attribute values.
std::string escape(std::string_view text);

}  // namespace sluice::registry::eureka::xml
