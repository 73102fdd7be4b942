#pragma once
// A fresh directory under the system temp dir, removed with everything in it at scope end.

#include <filesystem>
#include <string>

namespace sluice::testutil {

class TempDir {
 public:
  // `prefix` names the directory (prefix-XXXXXX) so a leftover one says which test made it.
  explicit TempDir(const std::string& prefix = "sluice-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes `text` to path()/name the way editors save: the whole new content appears at once.
  void write(const std::string& name, const std::string& text) const;

 private:
  std::filesystem::path path_;
};

}  // namespace sluice::testutil
