#include "libtime/sys/clock_adjust.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/timex.h>
#include <sysexits.h>
#include <unistd.h>
#include <utility>

namespace timepipe {

namespace {

// From the kernel's posix-timers.h: a dynamic clock id for a PTP device's descriptor.
constexpr int kClockFd = 3;
int fd_to_clockid(int fd) { return static_cast<int>((~static_cast<unsigned>(fd) << 3) | kClockFd); }

Unexpected<Error> adjtime_error(int err) {
    std::string what = std::string("clock_adjtime: ") + std::strerror(err);
    if (err == EPERM) return fail(what + " (needs CAP_SYS_TIME)", EX_NOPERM);
    return fail(what, EX_OSERR);
}

}  // namespace

int managed_status_bits() { return STA_PLL | STA_FLL | STA_PPSFREQ | STA_PPSTIME | STA_FREQHOLD | STA_INS | STA_DEL; }

int leap_status_bits(int leap) { return leap == 1 ? STA_INS : leap == 2 ? STA_DEL : 0; }

int kernel_tick_hz() {
    long hz = ::sysconf(_SC_CLK_TCK);
    return hz > 0 ? static_cast<int>(hz) : 100;
}

AdjustableClock AdjustableClock::realtime() { return AdjustableClock(CLOCK_REALTIME, -1, "CLOCK_REALTIME"); }

Result<AdjustableClock> AdjustableClock::open_ptp(const std::string& path, bool write) {
    int fd = ::open(path.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return fail(std::strerror(err), err == EACCES || err == EPERM ? EX_NOPERM : EX_NOINPUT);
    }
    return AdjustableClock(fd_to_clockid(fd), fd, path);
}

AdjustableClock::AdjustableClock(AdjustableClock&& other) noexcept
    : clockid_(other.clockid_), fd_(std::exchange(other.fd_, -1)), name_(std::move(other.name_)) {}

AdjustableClock& AdjustableClock::operator=(AdjustableClock&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) ::close(fd_);
        clockid_ = other.clockid_;
        fd_ = std::exchange(other.fd_, -1);
        name_ = std::move(other.name_);
    }
    return *this;
}

AdjustableClock::~AdjustableClock() {
    if (fd_ >= 0) ::close(fd_);
}

Result<UnixNanos> AdjustableClock::now() const {
    timespec ts{};
    if (::clock_gettime(clockid_, &ts) != 0) return fail(std::string("clock_gettime: ") + std::strerror(errno), EX_OSERR);
    return static_cast<UnixNanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

Result<ClockReading> AdjustableClock::read() const {
    timex tx{};
    int state = ::clock_adjtime(clockid_, &tx);
    if (state < 0) return adjtime_error(errno);
    ClockReading r;
    r.freq_scaled = tx.freq;
    r.tick = is_ptp() ? 0 : tx.tick;
    r.status = tx.status;
    r.offset = tx.offset;
    r.state = state;
    return r;
}

Result<int> AdjustableClock::set_frequency_status(std::int64_t freq_scaled, std::int64_t tick, int leap) {
    timex tx{};
    tx.modes = ADJ_FREQUENCY;
    tx.freq = static_cast<long>(freq_scaled);
    if (!is_ptp()) {
        if (tick > 0) {
            tx.modes |= ADJ_TICK;
            tx.tick = static_cast<long>(tick);
        }
        auto cur = read();
        if (!cur) return Unexpected<Error>{cur.error()};
        tx.modes |= ADJ_STATUS;
        tx.status = (cur->status & ~managed_status_bits()) | leap_status_bits(leap);
    }
    if (::clock_adjtime(clockid_, &tx) < 0) return adjtime_error(errno);
    return is_ptp() ? 0 : tx.status;
}

Result<void> AdjustableClock::step(std::int64_t sec, std::int64_t nsec) {
    timex tx{};
    tx.modes = ADJ_SETOFFSET | ADJ_NANO;
    tx.time.tv_sec = static_cast<time_t>(sec);
    tx.time.tv_usec = static_cast<suseconds_t>(nsec);  // nanoseconds with ADJ_NANO
    if (::clock_adjtime(clockid_, &tx) < 0) return adjtime_error(errno);
    return {};
}

Result<void> AdjustableClock::restore(const ClockReading& saved) {
    timex tx{};
    tx.modes = ADJ_FREQUENCY;
    tx.freq = static_cast<long>(saved.freq_scaled);
    if (!is_ptp()) {
        tx.modes |= ADJ_STATUS;
        tx.status = saved.status;
        if (saved.tick > 0) {
            tx.modes |= ADJ_TICK;
            tx.tick = static_cast<long>(saved.tick);
        }
    }
    if (::clock_adjtime(clockid_, &tx) < 0) return adjtime_error(errno);
    return {};
}

}  // namespace timepipe
