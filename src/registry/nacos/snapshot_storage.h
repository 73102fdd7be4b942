#pragma once
// Durable storage of the registry's persistent instances: one document replaced atomically.
// Behind an interface (LevelDB's lesson) so tests can inject write failures.

#include <filesystem>
#include <optional>
#include <string>

#include "core/result.h"

namespace sluice::registry::nacos {

class SnapshotStorage {
 public:
  virtual ~SnapshotStorage() = default;
  // The last saved document, or nullopt when nothing was ever saved. kIo on read errors.
  virtual Result<std::optional<std::string>> load() = 0;
  // Replaces the document. After success the new content survives a crash (kill -9, power cut
  // on a sane file system); after failure the previous document is still the one load() returns.
  virtual Status save(const std::string& content) = 0;
  // Where the data lives, for messages ("/data/nacos-persistent.json").
  virtual std::string describe() const = 0;
};

// Keeps `<dir>/nacos-persistent.json`. save() writes `<file>.tmp`, fsyncs it, renames it over the
// file and fsyncs the directory, so the file is always either the old or the new document. A temp
// file left by a crash in the middle of save() is ignored and deleted by load().
class FileSnapshotStorage : public SnapshotStorage {
 public:
  static constexpr const char* kFileName = "nacos-persistent.json";
  explicit FileSnapshotStorage(std::filesystem::path dir);

  Result<std::optional<std::string>> load() override;
  Status save(const std::string& content) override;
  std::string describe() const override { return file_.string(); }

  const std::filesystem::path& file() const { return file_; }
  std::filesystem::path tempFile() const { return std::filesystem::path(file_.string() + ".tmp"); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

// No durability: for a registry started without --data-dir, and for tests.
class MemorySnapshotStorage : public SnapshotStorage {
 public:
  Result<std::optional<std::string>> load() override { return content_; }
  Status save(const std::string& content) override {
    content_ = content;
    return ok();
  }
  std::string describe() const override { return "memory"; }

 private:
  std::optional<std::string> content_;
};

}  // namespace sluice::registry::nacos
