#include "libtime/sys/file.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <string>
#include <unistd.h>
#include <utility>

namespace timepipe {

bool stdout_is_terminal() { return ::isatty(STDOUT_FILENO) == 1; }

namespace {
Result<InputFile> open_with(const char* path, int flags, InputFile (*make)(int)) {
    const int fd = ::open(path, flags);
    if (fd < 0) {
        const int e = errno;
        return fail(std::strerror(e), e == ENOENT || e == EACCES ? EX_NOINPUT : EX_IOERR);
    }
    return make(fd);
}
}  // namespace

Result<InputFile> InputFile::open_read_nonblocking(const char* path) {
    return open_with(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, [](int fd) { return InputFile(fd, true); });
}

Result<InputFile> InputFile::open_read(const char* path) {
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        const int e = errno;
        return fail(std::strerror(e), e == ENOENT || e == EACCES ? EX_NOINPUT : EX_IOERR);
    }
    return InputFile(fd, true);
}

InputFile InputFile::standard_input() { return InputFile(STDIN_FILENO, false); }

InputFile::InputFile(InputFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), owned_(std::exchange(other.owned_, false)) {}

InputFile& InputFile::operator=(InputFile&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        owned_ = std::exchange(other.owned_, false);
    }
    return *this;
}

InputFile::~InputFile() { close(); }

void InputFile::close() {
    if (owned_ && fd_ >= 0) ::close(fd_);  // read-only: nothing to lose if close fails
    fd_ = -1;
    owned_ = false;
}

Result<std::size_t> InputFile::read_some(std::span<std::byte> into) {
    for (;;) {
        const ssize_t n = ::read(fd_, into.data(), into.size());
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) return fail(std::strerror(errno), EX_IOERR);
    }
}

Result<std::string> read_file(const char* path, std::size_t max_size) {
    auto f = InputFile::open_read(path);
    if (!f) return fail(f.error().what, f.error().exit_code);
    std::string out;
    std::array<std::byte, 65536> buf;
    for (;;) {
        auto n = f->read_some(buf);
        if (!n) return fail(n.error().what, n.error().exit_code);
        if (*n == 0) return out;
        out.append(static_cast<const char*>(static_cast<const void*>(buf.data())), *n);
        if (out.size() > max_size) {
            const bool mib = max_size % (std::size_t{1} << 20) == 0;
            return fail("larger than " + std::to_string(mib ? max_size >> 20 : max_size) + (mib ? " MiB" : " bytes"),
                        EX_DATAERR);
        }
    }
}

}  // namespace timepipe

namespace timepipe {

Result<void> write_file_atomic(const char* path, std::string_view content, unsigned mode) {
    std::string tmp = std::string(path) + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, static_cast<mode_t>(mode));
    if (fd < 0) {
        int e = errno;
        return fail(tmp + ": " + std::strerror(e), e == EACCES || e == EROFS ? EX_CANTCREAT : EX_IOERR);
    }
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {  // a leftover PATH.tmp keeps its old mode
        int e = errno;
        ::close(fd);
        return fail(tmp + ": " + std::strerror(e), EX_CANTCREAT);
    }
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            ::unlink(tmp.c_str());
            return fail(tmp + ": " + std::strerror(e), EX_IOERR);
        }
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(tmp + ": " + std::strerror(e), EX_IOERR);
    }
    if (::rename(tmp.c_str(), path) != 0) {
        int e = errno;
        ::unlink(tmp.c_str());
        return fail(std::strerror(e), EX_IOERR);
    }
    return {};
}

bool is_directory(const std::string& path) {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace timepipe
