#include "libtime/sys/phc.hpp"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <linux/ptp_clock.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace timepipe::sys {
namespace {

// The sizes libtime/refclock/phc_offset.cpp decodes.
static_assert(sizeof(ptp_sys_offset) == 832);
static_assert(sizeof(ptp_sys_offset_extended) == 1216);
static_assert(sizeof(ptp_sys_offset_precise) == 64);
static_assert(PTP_MAX_SAMPLES == 25);

template <class T>
Result<std::vector<std::byte>> ask(int fd, unsigned long request, const char* name, T& arg) {
    if (::ioctl(fd, request, &arg) != 0) {
        int err = errno;
        std::string why = std::string(name) + ": " + std::strerror(err);
        // Older drivers or kernels: the ioctl is unknown or the driver has no such method.
        if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL) return fail(why, EX_UNAVAILABLE);
        return fail(why, (err == EPERM || err == EACCES) ? EX_NOPERM : EX_OSERR);
    }
    std::vector<std::byte> out(sizeof arg);
    std::memcpy(out.data(), &arg, sizeof arg);
    return out;
}

Result<unsigned> checked_samples(int samples) {
    if (samples < 1 || samples > PTP_MAX_SAMPLES) return fail("samples: not in 1..25", EX_USAGE);
    return static_cast<unsigned>(samples);
}

}  // namespace

Result<PhcDevice> PhcDevice::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        int code = err == ENOENT ? EX_NOINPUT : (err == EACCES || err == EPERM) ? EX_NOPERM : EX_OSERR;
        return fail(std::strerror(err), code);
    }
    return PhcDevice(fd);
}

PhcDevice::PhcDevice(PhcDevice&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

PhcDevice& PhcDevice::operator=(PhcDevice&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

PhcDevice::~PhcDevice() {
    if (fd_ >= 0) ::close(fd_);
}

Result<std::vector<std::byte>> PhcDevice::sys_offset_precise() const {
    ptp_sys_offset_precise arg{};
    return ask(fd_, PTP_SYS_OFFSET_PRECISE, "PTP_SYS_OFFSET_PRECISE", arg);
}

Result<std::vector<std::byte>> PhcDevice::sys_offset_extended(int samples) const {
    auto n = checked_samples(samples);
    if (!n) return Unexpected<Error>{n.error()};
    ptp_sys_offset_extended arg{};
    arg.n_samples = *n;
    return ask(fd_, PTP_SYS_OFFSET_EXTENDED, "PTP_SYS_OFFSET_EXTENDED", arg);
}

Result<std::vector<std::byte>> PhcDevice::sys_offset(int samples) const {
    auto n = checked_samples(samples);
    if (!n) return Unexpected<Error>{n.error()};
    ptp_sys_offset arg{};
    arg.n_samples = *n;
    return ask(fd_, PTP_SYS_OFFSET, "PTP_SYS_OFFSET", arg);
}

}  // namespace timepipe::sys
