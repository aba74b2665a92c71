#include "libtime/sys/file_follow.hpp"

#include <cerrno>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

namespace timepipe {

namespace {
FileIdentity from_stat(const struct stat& st) {
    FileIdentity id;
    id.device = static_cast<std::uint64_t>(st.st_dev);
    id.inode = static_cast<std::uint64_t>(st.st_ino);
    id.size = static_cast<std::int64_t>(st.st_size);
    id.kind = S_ISREG(st.st_mode) ? FileKind::regular : S_ISFIFO(st.st_mode) ? FileKind::fifo : FileKind::other;
    return id;
}

Unexpected<Error> errno_failure() {
    const int e = errno;
    return fail(std::strerror(e), e == ENOENT || e == EACCES || e == ENOTDIR ? EX_NOINPUT : EX_IOERR);
}
}  // namespace

Result<FileIdentity> identify(const char* path) {
    struct stat st{};
    if (::stat(path, &st) != 0) return errno_failure();
    return from_stat(st);
}

Result<FileIdentity> identify(int fd) {
    struct stat st{};
    if (::fstat(fd, &st) != 0) return errno_failure();
    return from_stat(st);
}

Result<std::int64_t> read_position(int fd) {
    const off_t at = ::lseek(fd, 0, SEEK_CUR);
    if (at < 0) return errno_failure();
    return static_cast<std::int64_t>(at);
}

Result<void> rewind(int fd) {
    if (::lseek(fd, 0, SEEK_SET) < 0) return errno_failure();
    return {};
}

}  // namespace timepipe
