#include "registry/eureka/xml.h"

#include "core/strings.h"

namespace sluice::registry::eureka::xml {

const Element* Element::child(std::string_view want) const {
  for (const auto& c : children) {
    if (c.name == want) return &c;
  }
  return nullptr;
}

std::string Element::childText(std::string_view want) const {
  const Element* c = child(want);
  return c == nullptr ? std::string() : std::string(trim(c->text));
}

const std::string* Element::attribute(std::string_view want) const {
  for (const auto& [key, value] : attributes) {
    if (key == want) return &value;
  }
  return nullptr;
}

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || static_cast<unsigned char>(c) >= 0x80;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(std::string_view doc, ParseLimits limits) : doc_(doc), limits_(limits) {}

  Result<Element> document() {
    SLUICE_RETURN_IF_ERROR(skipMisc(true));
    if (!peek('<')) return fail("a root element");
    Element root;
    SLUICE_RETURN_IF_ERROR(element(root, 1));
    SLUICE_RETURN_IF_ERROR(skipMisc(false));
    if (pos_ != doc_.size()) return fail("the end of the document after the root element");
    return root;
  }

 private:
  tl::unexpected<Error> fail(std::string_view expected) const {
    std::string found =
        pos_ >= doc_.size() ? "the end" : fmt::format("'{}'", doc_.substr(pos_, 12));
    return makeError(
        ErrorCode::kInvalidArgument, ErrorSource::kRegistry,
        fmt::format("malformed XML at byte {}: expected {}, found {}", pos_, expected, found));
  }

  bool peek(char c) const { return pos_ < doc_.size() && doc_[pos_] == c; }
  bool startsHere(std::string_view s) const { return doc_.substr(pos_).starts_with(s); }
  void skipSpace() {
    while (pos_ < doc_.size() && isSpace(doc_[pos_])) ++pos_;
  }

  // Whitespace, comments and (before the root only) the XML declaration.
  Status skipMisc(bool prolog_allowed) {
    if (prolog_allowed && startsHere("\xEF\xBB\xBF")) pos_ += 3;
    for (;;) {
      skipSpace();
      if (startsHere("<!--")) {
        SLUICE_RETURN_IF_ERROR(comment());
      } else if (startsHere("<?xml") && prolog_allowed) {
        size_t end = doc_.find("?>", pos_);
        if (end == std::string_view::npos) return fail("'?>' closing the XML declaration");
        pos_ = end + 2;
        prolog_allowed = false;
      } else if (startsHere("<?") || startsHere("<!")) {
        return fail("an element (DOCTYPE and processing instructions are not accepted)");
      } else {
        return ok();
      }
    }
  }

  Status comment() {
    size_t end = doc_.find("-->", pos_ + 4);
    if (end == std::string_view::npos) return fail("'-->' closing a comment");
    pos_ = end + 3;
    return ok();
  }

  Result<std::string> name() {
    size_t start = pos_;
    while (pos_ < doc_.size() && isNameChar(doc_[pos_])) ++pos_;
    if (pos_ == start) return fail("a name");
    return std::string(doc_.substr(start, pos_ - start));
  }

  // Decodes character data up to (not including) `stop`, resolving references.
  Status characters(std::string& out, char stop) {
    while (pos_ < doc_.size() && doc_[pos_] != stop) {
      char c = doc_[pos_];
      if (c == '&') {
        SLUICE_RETURN_IF_ERROR(reference(out));
        continue;
      }
      if (stop == '"' || stop == '\'') {
        if (c == '<') return fail("no '<' inside an attribute value");
      }
      out += c;
      ++pos_;
    }
    return ok();
  }

  Status reference(std::string& out) {
    size_t end = doc_.find(';', pos_);
    if (end == std::string_view::npos || end - pos_ > 12) return fail("a character reference");
    std::string_view ref = doc_.substr(pos_ + 1, end - pos_ - 1);
    if (ref == "amp") {
      out += '&';
    } else if (ref == "lt") {
      out += '<';
    } else if (ref == "gt") {
      out += '>';
    } else if (ref == "quot") {
      out += '"';
    } else if (ref == "apos") {
      out += '\'';
    } else if (ref.size() > 1 && ref[0] == '#') {
      uint32_t cp = 0;
      bool hex = ref[1] == 'x' || ref[1] == 'X';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      if (digits.empty()) return fail("digits in a numeric character reference");
      for (char d : digits) {
        int v = -1;
        if (d >= '0' && d <= '9') v = d - '0';
        if (hex && d >= 'a' && d <= 'f') v = d - 'a' + 10;
        if (hex && d >= 'A' && d <= 'F') v = d - 'A' + 10;
        if (v < 0) return fail("a numeric character reference");
        cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        if (cp > 0x10FFFF) return fail("a code point below U+110000");
      }
      if (cp == 0) return fail("a non-zero code point");
      appendUtf8(out, cp);
    } else {
      return fail("one of &amp; &lt; &gt; &quot; &apos; or a numeric reference");
    }
    pos_ = end + 1;
    return ok();
  }

  Status element(Element& el, size_t depth) {
    if (depth > limits_.max_depth) return fail("less nesting");
    if (++elements_ > limits_.max_elements) return fail("fewer elements");
    ++pos_;  // '<'
    SLUICE_ASSIGN_OR_RETURN(el.name, name());
    for (;;) {
      size_t before = pos_;
      skipSpace();
      if (startsHere("/>")) {
        pos_ += 2;
        return ok();
      }
      if (peek('>')) {
        ++pos_;
        break;
      }
      if (pos_ == before) return fail("whitespace, '>' or '/>'");
      SLUICE_ASSIGN_OR_RETURN(std::string key, name());
      skipSpace();
      if (!peek('=')) return fail("'=' after an attribute name");
      ++pos_;
      skipSpace();
      if (!peek('"') && !peek('\'')) return fail("a quoted attribute value");
      char quote = doc_[pos_++];
      std::string value;
      SLUICE_RETURN_IF_ERROR(characters(value, quote));
      if (!peek(quote)) return fail("the closing quote of an attribute value");
      ++pos_;
      el.attributes.emplace_back(std::move(key), std::move(value));
    }
    for (;;) {
      if (pos_ >= doc_.size()) return fail(fmt::format("'</{}>'", el.name));
      if (startsHere("</")) {
        pos_ += 2;
        SLUICE_ASSIGN_OR_RETURN(std::string closing, name());
        if (closing != el.name) return fail(fmt::format("'</{}>'", el.name));
        skipSpace();
        if (!peek('>')) return fail("'>'");
        ++pos_;
        return ok();
      }
      if (startsHere("<!--")) {
        SLUICE_RETURN_IF_ERROR(comment());
      } else if (startsHere("<![CDATA[")) {
        size_t end = doc_.find("]]>", pos_ + 9);
        if (end == std::string_view::npos) return fail("']]>' closing CDATA");
        el.text.append(doc_.substr(pos_ + 9, end - pos_ - 9));
        pos_ = end + 3;
      } else if (startsHere("<?") || startsHere("<!")) {
        return fail("an element, text or '</' (no processing instructions or declarations)");
      } else if (peek('<')) {
        el.children.emplace_back();
        SLUICE_RETURN_IF_ERROR(element(el.children.back(), depth + 1));
      } else {
        SLUICE_RETURN_IF_ERROR(characters(el.text, '<'));
      }
    }
  }

  std::string_view doc_;
  ParseLimits limits_;
  size_t pos_ = 0;
  size_t elements_ = 0;
};

}  // namespace

Result<Element> parse(std::string_view document, ParseLimits limits) {
  return Parser(document, limits).document();
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace sluice::registry::eureka::xml
