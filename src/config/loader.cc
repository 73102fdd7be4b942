#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

void loadText(ConfigSet& set, std::string_view text, const std::string& file) {
  ++set.files_read;
  auto fileError = [&](int line, int column, std::string message) {
    DiagnosticReporter::forFile(set.diagnostics)
        .error(Position{file, line, column}, "", std::move(message));
  };
  if (text.size() > kMaxFileBytes) {
    fileError(1, 1,
              fmt::format("file is too large ({} bytes, limit {})", text.size(), kMaxFileBytes));
    return;
  }
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 byte order mark
  if (auto problem = prescanYaml(text, kMaxNestingDepth)) {
    fileError(problem->line, problem->column, problem->message);
    return;
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    fileError(e.mark.is_null() ? 1 : e.mark.line + 1, e.mark.is_null() ? 1 : e.mark.column + 1,
              fmt::format("YAML syntax error: {}", e.msg));
    return;
  } catch (const std::exception& e) {
    fileError(1, 1, fmt::format("YAML syntax error: {}", e.what()));
    return;
  }
  const size_t first = set.diagnostics.size();
  for (const auto& doc : docs) {
    try {
      decode::Decoder decoder(set, file);
      decoder.decodeDocument(doc);
    } catch (const std::exception& e) {
      // yaml-cpp throws on some malformed node accesses; report instead of crashing.
      fileError(1, 1, fmt::format("cannot decode document: {}", e.what()));
    }
  }
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
