// Eureka XML (the XStream codec): the small XML parser (registry::eureka::xml) on any document,
// with its depth and element limits, and the XML decoding of applications and instances on top.
// Escaped text survives a parse unchanged; decoded values re-encode to XML that decodes and
// encodes to the same bytes again.

#include <string>

#include "fuzz_check.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/xml.h"

using namespace sluice;
using namespace sluice::registry::eureka;

namespace {

size_t countElements(const xml::Element& element, size_t depth, size_t max_depth) {
  SLUICE_FUZZ_CHECK(depth <= max_depth);
  size_t n = 1;
  for (const auto& child : element.children) n += countElements(child, depth + 1, max_depth);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view document = fuzz::asView(data, size);
  xml::ParseLimits limits;
  limits.max_depth = 16;
  limits.max_elements = 2000;
  if (auto root = xml::parse(document, limits)) {
    SLUICE_FUZZ_CHECK(countElements(*root, 1, limits.max_depth) <= limits.max_elements);
  } else {
    SLUICE_FUZZ_CHECK(!root.error().message.empty());
  }

  // Text escaped by xml::escape reads back as itself.
  std::string wrapped = "<t a=\"" + xml::escape(document) + "\">" + xml::escape(document) + "</t>";
  if (auto root = xml::parse(wrapped); root && document.find('\r') == std::string_view::npos) {
    SLUICE_FUZZ_CHECK(root->text == document);
    const std::string* attribute = root->attribute("a");
    SLUICE_FUZZ_CHECK(attribute != nullptr);
  }

  if (sniffFormat(document) != Format::kXml) return 0;
  if (auto apps = decodeApplications(document)) {
    std::string encoded = encodeApplications(*apps, Format::kXml);
    auto again = decodeApplications(encoded);
    SLUICE_FUZZ_CHECK(again.has_value() && encodeApplications(*again, Format::kXml) == encoded);
  }
  if (auto instance = decodeInstance(document)) {
    std::string encoded = encodeInstance(*instance, Format::kXml);
    auto again = decodeInstance(encoded);
    SLUICE_FUZZ_CHECK(again.has_value() && encodeInstance(*again, Format::kXml) == encoded);
  }
  return 0;
}
