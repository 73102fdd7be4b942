#include "registry/nacos/snapshot_storage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::registry::nacos {

namespace {

tl::unexpected<Error> ioError(const std::string& what, const std::filesystem::path& path, int err) {
  return makeError(ErrorCode::kIo, ErrorSource::kRegistry,
                   fmt::format("{} {}: {}", what, path.string(), std::strerror(err)));
}

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
bool writeAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

FileSnapshotStorage::FileSnapshotStorage(std::filesystem::path dir)
    : dir_(std::move(dir)), file_(dir_ / kFileName) {}

Result<std::optional<std::string>> FileSnapshotStorage::load() {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return ioError("cannot create data directory", dir_, ec.value());
  // A temp file is the trace of a save() that did not reach its rename: never the truth.
  std::filesystem::remove(tempFile(), ec);
  if (!std::filesystem::exists(file_, ec)) return std::optional<std::string>{};
  std::ifstream in(file_, std::ios::binary);
  if (!in) return ioError("cannot open", file_, errno);
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return ioError("cannot read", file_, errno);
  return std::optional<std::string>(content.str());
}

Status FileSnapshotStorage::save(const std::string& content) {
  std::filesystem::path tmp = tempFile();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ioError("cannot create", tmp, errno);
  if (!writeAll(fd, content) || ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ioError("cannot write", tmp, err);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError("cannot close", tmp, err);
  }
  if (::rename(tmp.c_str(), file_.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ioError("cannot rename temp file over", file_, err);
  }
  // The rename itself must be durable too: sync the directory entry.
  int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ioError("cannot open directory", dir_, errno);
  int rc = ::fsync(dir_fd);
  int err = errno;
  ::close(dir_fd);
  if (rc != 0) return ioError("cannot sync directory", dir_, err);
  return ok();
}

}  // namespace sluice::registry::nacos
