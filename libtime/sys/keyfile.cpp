#include "libtime/sys/keyfile.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libtime/base/crypto.hpp"
#include "libtime/sys/unique_fd.hpp"

namespace timepipe {

namespace {

Unexpected<Error> errno_error(int err, int code) { return fail(std::strerror(err), code); }

}  // namespace

Result<std::string> read_private_file(const char* path, std::size_t max_size) {
    UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) {
        const int err = errno;
        return errno_error(err, err == ENOENT || err == EACCES || err == ENOTDIR ? EX_NOINPUT : EX_IOERR);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0) return errno_error(errno, EX_IOERR);
    if (!S_ISREG(st.st_mode)) return fail("not a regular file", EX_DATAERR);
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return fail(std::string("mode ") + mode + " lets group or others read it (chmod 600 it)", EX_NOPERM);
    }
    std::string text;
    text.reserve(max_size + 1);  // no reallocation: no stray copy of the secret in freed memory
    std::array<char, 512> buf{};
    for (;;) {
        ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            crypto::secure_zero(std::as_writable_bytes(std::span(buf)));
            crypto::secure_zero(std::as_writable_bytes(std::span(text)));
            return errno_error(err, EX_IOERR);
        }
        if (n == 0) break;
        if (text.size() + static_cast<std::size_t>(n) > max_size) {
            crypto::secure_zero(std::as_writable_bytes(std::span(buf)));
            crypto::secure_zero(std::as_writable_bytes(std::span(text)));
            return fail("longer than " + std::to_string(max_size) + " octets", EX_DATAERR);
        }
        text.append(buf.data(), static_cast<std::size_t>(n));
    }
    crypto::secure_zero(std::as_writable_bytes(std::span(buf)));
    return text;
}

Result<void> write_private_file(const char* path, std::span<const std::byte> data, bool replace) {
    constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY;
    int raw = ::open(path, kFlags, 0600);
    if (raw < 0 && errno == EEXIST && replace) {
        if (::unlink(path) < 0) return errno_error(errno, EX_CANTCREAT);
        raw = ::open(path, kFlags, 0600);
    }
    if (raw < 0) {
        if (errno == EEXIST) return fail("exists (--force replaces it)", EX_CANTCREAT);
        return errno_error(errno, EX_CANTCREAT);
    }
    UniqueFd fd(raw);
    if (::fchmod(fd.get(), 0600) < 0) return errno_error(errno, EX_CANTCREAT);
    std::size_t done = 0;
    while (done < data.size()) {
        ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(errno, EX_IOERR);
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) < 0) return errno_error(errno, EX_IOERR);
    if (::close(fd.release()) < 0) return errno_error(errno, EX_IOERR);
    return {};
}

}  // namespace timepipe
