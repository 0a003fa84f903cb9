#include "files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace netkey::tools {

Result<std::vector<uint8_t>> read_file(const std::string& path, size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Errc::kIo, "cannot read " + path + ": " + std::strerror(errno));
  std::vector<uint8_t> out;
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status(Errc::kIo, "cannot read " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max_bytes) {
      ::close(fd);
      return Status(Errc::kTooLarge, path + " is larger than " + std::to_string(max_bytes) +
                                         " bytes; it is not a netkey file");
    }
  }
  ::close(fd);
  return out;
}

Status write_new_file(const std::string& path, const void* data, size_t size, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) {
    if (errno == EEXIST) {
      return Status(Errc::kIo, path + " already exists; refusing to overwrite it");
    }
    return Status(Errc::kIo, "cannot create " + path + ": " + std::strerror(errno));
  }
  // The umask may have narrowed the mode; fchmod makes it exact.
  ::fchmod(fd, static_cast<mode_t>(mode));
  const auto* p = static_cast<const uint8_t*>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status(Errc::kIo, "cannot write " + path + ": " + std::strerror(e));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::close(fd) != 0) return Status(Errc::kIo, "cannot write " + path + ": " + std::strerror(errno));
  return Status::ok();
}

}  // namespace netkey::tools
