#include "config/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "config/decode/decoder.h"
#include "config/diagnostic_reporter.h"
#include "config/envoy_filter.h"
#include "config/prescan.h"
#include "config/validate.h"
#include "core/strings.h"

namespace sluice::config {

namespace {

namespace fs = std::filesystem;

// Drops "parsed but not enforced" warnings nested under another one (a listed parent covers its
// children), keeping the first.
void dedupeUnenforced(std::vector<Diagnostic>& diags, size_t from) {
  std::vector<std::string> parents;
  std::vector<Diagnostic> kept(diags.begin(), diags.begin() + static_cast<long>(from));
  for (size_t i = from; i < diags.size(); ++i) {
    auto& d = diags[i];
    const bool unenforced =
        d.severity == Severity::kWarning && d.message.starts_with("parsed but not enforced");
    if (unenforced) {
      const std::string key = d.kind + "/" + d.ns + "/" + d.name + ":" + d.field_path;
      bool nested = false;
      for (auto& p : parents) {
        if (key.starts_with(p + ".") || key.starts_with(p + "[")) nested = true;
      }
      if (nested) continue;
      parents.push_back(key);
    }
    kept.push_back(std::move(d));
  }
  diags = std::move(kept);
}

// One document of a YAML stream and the number of lines before it in the file.
struct DocumentText {
  std::string_view text;
  int line_offset = 0;
};

// Is `line` a document marker ("---" or "...", alone or followed by a space)? YAML forbids such
// a line inside any content (c-forbidden), so it always separates documents.
bool isDocumentMarker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
}

// Splits a YAML stream at its document markers, so each document is parsed on its own and a
// broken one cannot hide the others. A "---" line starts a document (it stays with it: it may
// carry the document's first node); a "..." line ends one. Directives ("%YAML") go with the
// document they precede.
std::vector<DocumentText> splitDocuments(std::string_view text) {
  std::vector<DocumentText> docs;
  size_t start = 0;
  int start_line = 0;
  size_t directives_at = std::string_view::npos;  // first of the directive lines just seen
  int directives_line = 0;
  int line_no = 0;
  auto cut = [&](size_t end, size_t next, int next_line) {
    if (end > start) docs.push_back({text.substr(start, end - start), start_line});
    start = next;
    start_line = next_line;
  };
  for (size_t at = 0; at < text.size(); ++line_no) {
    size_t eol = text.find('\n', at);
    size_t next = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view line = text.substr(at, next - at);
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (line.starts_with("%")) {
      if (directives_at == std::string_view::npos) {
        directives_at = at;
        directives_line = line_no;
      }
    } else if (isDocumentMarker(line, "---")) {
      if (directives_at != std::string_view::npos) {
        cut(directives_at, directives_at, directives_line);
      } else {
        cut(at, at, line_no);
      }
      directives_at = std::string_view::npos;
    } else if (isDocumentMarker(line, "...")) {
      cut(next, next, line_no + 1);
      directives_at = std::string_view::npos;
    } else if (!line.empty() && line[0] != '#') {
      directives_at = std::string_view::npos;
    }
    at = next;
  }
  cut(text.size(), text.size(), line_no);
  return docs;
}

// Events of a parse nobody keeps: only where each document starts.
class DocumentStarts final : public YAML::EventHandler {
 public:
  YAML::Mark last;
  void OnDocumentStart(const YAML::Mark& mark) override { last = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// yaml-cpp 0.7 never returns from LoadAll on some inputs: after a document whose root is a flow
// collection or a quoted scalar, a ',' outside any flow collection (`{a}, b`, 22 bytes found by
// the config_yaml fuzz target) starts an empty document at the same token forever, so a config
// file could hang the control plane. Every real document consumes at least one token, so this
// event-only parse stops at the first document that starts where the previous one did (and at
// more documents than bytes, whatever the reason), and reports it; LoadAll only sees text that
// this parse got through. Throws what yaml-cpp throws for a syntax error.
std::optional<PrescanProblem> parserStalls(std::string_view text) {
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  DocumentStarts starts;
  std::optional<YAML::Mark> previous;
  for (size_t docs = 0; parser.HandleNextDocument(starts); ++docs) {
    const YAML::Mark& at = starts.last;
    if ((previous && previous->pos == at.pos) || docs > text.size()) {
      const bool comma = at.pos >= 0 && static_cast<size_t>(at.pos) < text.size() &&
                         text[static_cast<size_t>(at.pos)] == ',';
      return PrescanProblem{at.line + 1, at.column + 1,
                            comma ? "YAML syntax error: ',' outside a flow collection ([...] or "
                                    "{...}) after the document's value"
                                  : "YAML syntax error: the parser makes no progress here"};
    }
    previous = at;
  }
  return std::nullopt;
}

// Parses and decodes one document (or, for a stream that cannot be split, the whole text).
void loadDocument(ConfigSet& set, const DocumentText& doc, const std::string& file) {
  auto documentError = [&](int line, int column, std::string message) {
    DiagnosticReporter::forFile(set.diagnostics)
        .error(Position{file, line + doc.line_offset, column}, "", std::move(message));
  };
  if (auto problem = prescanYaml(doc.text, kMaxNestingDepth)) {
    documentError(problem->line, problem->column, problem->message);
    return;
  }
  std::vector<YAML::Node> nodes;
  try {
    if (auto stall = parserStalls(doc.text)) {
      documentError(stall->line, stall->column, stall->message);
      return;
    }
    nodes = YAML::LoadAll(std::string(doc.text));
  } catch (const YAML::Exception& e) {
    documentError(e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1,
                  fmt::format("YAML syntax error: {}", e.msg));
    return;
  } catch (const std::exception& e) {
    documentError(1, 1, fmt::format("YAML syntax error: {}", e.what()));
    return;
  }
  const uint64_t digest = std::hash<std::string_view>{}(doc.text) | 1;  // never 0
  for (const auto& node : nodes) {
    try {
      decode::Decoder decoder(set, file, doc.line_offset, digest);
      decoder.decodeDocument(node);
    } catch (const std::exception& e) {
      // yaml-cpp throws on some malformed node accesses; report instead of crashing.
      documentError(1, 1, fmt::format("cannot decode document: {}", e.what()));
    }
  }
}

void loadText(ConfigSet& set, std::string_view text, const std::string& file) {
  ++set.files_read;
  if (text.size() > kMaxFileBytes) {
    DiagnosticReporter::forFile(set.diagnostics)
        .error(Position{file, 1, 1}, "",
               fmt::format("file is too large ({} bytes, limit {})", text.size(), kMaxFileBytes));
    return;
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  const size_t first = set.diagnostics.size();
  for (const auto& doc : splitDocuments(text)) loadDocument(set, doc, file);
  dedupeUnenforced(set.diagnostics, first);
}

void finish(ConfigSet& set) {
  validateResources(set);
  recogniseEnvoyFilters(set);
  validateCrossResource(set);
  std::stable_sort(set.diagnostics.begin(), set.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     if (a.pos.file != b.pos.file) return a.pos.file < b.pos.file;
                     if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
                     return a.pos.column < b.pos.column;
                   });
}

bool hasConfigExtension(const fs::path& p) {
  auto ext = toLower(p.extension().string());
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void loadFile(ConfigSet& set, const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) {
    set.io_errors.push_back(fmt::format("{}: cannot read: {}", path, ec.message()));
    return;
  }
  if (size > kMaxFileBytes) {
    ++set.files_read;
    DiagnosticReporter::forFile(set.diagnostics)
        .error(Position{path, 1, 1}, "",
               fmt::format("file is too large ({} bytes, limit {})", size, kMaxFileBytes));
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    set.io_errors.push_back(fmt::format("{}: cannot open for reading", path));
    return;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    set.io_errors.push_back(fmt::format("{}: read error", path));
    return;
  }
  loadText(set, buffer.str(), path);
}

}  // namespace

ConfigSet loadPaths(const std::vector<std::string>& paths) {
  ConfigSet set;
  for (const auto& path : paths) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      set.io_errors.push_back(fmt::format("{}: no such file or directory", path));
      continue;
    }
    if (fs::is_directory(status)) {
      std::vector<std::string> files;
      for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::directory_iterator();
           it.increment(ec)) {
        std::error_code file_ec;
        if (it->is_regular_file(file_ec) && hasConfigExtension(it->path())) {
          files.push_back(it->path().string());
        }
      }
      if (ec) {
        set.io_errors.push_back(fmt::format("{}: cannot list directory: {}", path, ec.message()));
        continue;
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) loadFile(set, f);
      continue;
    }
    loadFile(set, path);
  }
  finish(set);
  return set;
}

ConfigSet loadString(std::string_view yaml, std::string_view file_name) {
  ConfigSet set;
  loadText(set, yaml, std::string(file_name));
  finish(set);
  return set;
}

}  // namespace sluice::config
