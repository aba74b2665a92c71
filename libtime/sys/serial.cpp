#include "libtime/sys/serial.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <utility>

#include "libtime/sys/clock.hpp"

namespace timepipe {
namespace {

struct SpeedName {
    long baud;
    speed_t constant;
};
constexpr SpeedName kSpeeds[] = {
    {50, B50}, {75, B75}, {110, B110}, {134, B134}, {150, B150}, {200, B200}, {300, B300}, {600, B600},
    {1200, B1200}, {1800, B1800}, {2400, B2400}, {4800, B4800}, {9600, B9600}, {19200, B19200},
    {38400, B38400}, {57600, B57600}, {115200, B115200}, {230400, B230400}, {460800, B460800},
    {500000, B500000}, {576000, B576000}, {921600, B921600}, {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000},
    {3500000, B3500000}, {4000000, B4000000},
};

std::optional<speed_t> speed_constant(long baud) {
    for (const auto& s : kSpeeds)
        if (s.baud == baud) return s.constant;
    return std::nullopt;
}

long speed_baud(speed_t constant) {
    for (const auto& s : kSpeeds)
        if (s.constant == constant) return s.baud;
    return 0;
}

Result<void> make_raw(int fd, long speed) {
    termios t{};
    if (::tcgetattr(fd, &t) != 0) return fail(std::strerror(errno), EX_IOERR);
    ::cfmakeraw(&t);
    t.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB | CSTOPB | CRTSCTS);
    t.c_cflag |= CS8 | CLOCAL | CREAD;
    t.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (speed > 0) {
        auto c = speed_constant(speed);
        if (!c) return fail("speed " + std::to_string(speed) + " is not one termios knows", EX_USAGE);
        ::cfsetispeed(&t, *c);
        ::cfsetospeed(&t, *c);
    }
    if (::tcsetattr(fd, TCSANOW, &t) != 0) return fail(std::strerror(errno), EX_IOERR);
    return {};
}

}  // namespace

bool serial_speed_supported(long baud) { return speed_constant(baud).has_value(); }

Result<SerialInput> SerialInput::open(const std::string& path, long speed) {
    if (speed != 0 && !serial_speed_supported(speed))
        return fail("speed " + std::to_string(speed) + " is not one termios knows", EX_USAGE);
    int fd = STDIN_FILENO;
    bool owned = false;
    if (path != "-") {
        // O_NONBLOCK so a serial port opens without carrier; cleared below.
        fd = ::open(path.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) {
            int e = errno;
            return fail(std::strerror(e), e == ENOENT || e == EACCES || e == ENXIO || e == ENODEV ? EX_NOINPUT : EX_IOERR);
        }
        owned = true;
        int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
            int e = errno;
            ::close(fd);
            return fail(std::strerror(e), EX_IOERR);
        }
    }
    SerialInput in(fd, owned, Kind::stream);
    struct stat st{};
    if (::fstat(fd, &st) != 0) return fail(std::strerror(errno), EX_IOERR);
    if (S_ISDIR(st.st_mode)) return fail(std::strerror(EISDIR), EX_NOINPUT);
    if (S_ISREG(st.st_mode)) in.kind_ = Kind::regular_file;
    else if (::isatty(fd) == 1) in.kind_ = Kind::terminal;
    if (in.kind_ == Kind::terminal) {
        if (auto ok = make_raw(fd, speed); !ok) return Unexpected<Error>{ok.error()};
    }
    return in;
}

SerialInput::SerialInput(SerialInput&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), owned_(std::exchange(o.owned_, false)), kind_(o.kind_), hung_up_(o.hung_up_) {}

SerialInput& SerialInput::operator=(SerialInput&& o) noexcept {
    if (this != &o) {
        if (owned_ && fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        owned_ = std::exchange(o.owned_, false);
        kind_ = o.kind_;
        hung_up_ = o.hung_up_;
    }
    return *this;
}

SerialInput::~SerialInput() {
    if (owned_ && fd_ >= 0) ::close(fd_);
}

Result<std::optional<SerialInput::Chunk>> SerialInput::read_for(std::span<std::byte> into,
                                                                std::chrono::nanoseconds timeout) {
    if (kind_ != Kind::regular_file) {
        pollfd p{fd_, POLLIN, 0};
        int ms = timeout.count() < 0 ? -1 : static_cast<int>((timeout.count() + 999'999) / 1'000'000);
        int n = ::poll(&p, 1, ms);
        if (n < 0) {
            if (errno == EINTR) return std::optional<Chunk>{};
            return fail(std::strerror(errno), EX_IOERR);
        }
        if (n == 0) return std::optional<Chunk>{};
    }
    UnixNanos arrived = wall_clock_now();
    for (;;) {
        ssize_t n = ::read(fd_, into.data(), into.size());
        if (n >= 0) return std::optional<Chunk>{Chunk{static_cast<std::size_t>(n), arrived}};
        // A pty whose writer closed reads EIO: the end of input, as a serial device unplugged.
        if (errno == EIO && kind_ == Kind::terminal) return std::optional<Chunk>{Chunk{0, arrived}};
        if (errno != EINTR) return fail(std::strerror(errno), EX_IOERR);
    }
}

Result<SerialSettings> SerialInput::settings() const {
    termios t{};
    if (::tcgetattr(fd_, &t) != 0) return fail(std::strerror(errno), EX_IOERR);
    SerialSettings s;
    long in = speed_baud(::cfgetispeed(&t)), out = speed_baud(::cfgetospeed(&t));
    s.speed = in == out ? in : -1;
    s.raw = !(t.c_lflag & (ICANON | ECHO | ISIG | IEXTEN)) && !(t.c_oflag & OPOST) &&
            !(t.c_iflag & (ICRNL | INLCR | IGNCR | ISTRIP));
    s.eight_n_one = (t.c_cflag & CSIZE) == CS8 && !(t.c_cflag & (PARENB | CSTOPB));
    s.flow_control = (t.c_cflag & CRTSCTS) || (t.c_iflag & (IXON | IXOFF));
    return s;
}

Result<PtyPair> PtyPair::open() {
    int m = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0) return fail(std::strerror(errno), EX_OSERR);
    char name[128];
    if (::grantpt(m) != 0 || ::unlockpt(m) != 0 || ::ptsname_r(m, name, sizeof name) != 0) {
        int e = errno;
        ::close(m);
        return fail(std::strerror(e), EX_OSERR);
    }
    int s = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int e = errno;
        ::close(m);
        return fail(std::strerror(e), EX_OSERR);
    }
    PtyPair p(m, s, name);
    if (auto ok = make_raw(s, 0); !ok) return Unexpected<Error>{ok.error()};
    return p;
}

PtyPair::PtyPair(PtyPair&& o) noexcept
    : master_(std::exchange(o.master_, -1)), slave_(std::exchange(o.slave_, -1)), slave_path_(std::move(o.slave_path_)) {}

PtyPair& PtyPair::operator=(PtyPair&& o) noexcept {
    if (this != &o) {
        if (master_ >= 0) ::close(master_);
        if (slave_ >= 0) ::close(slave_);
        master_ = std::exchange(o.master_, -1);
        slave_ = std::exchange(o.slave_, -1);
        slave_path_ = std::move(o.slave_path_);
    }
    return *this;
}

PtyPair::~PtyPair() {
    if (slave_ >= 0) ::close(slave_);
    if (master_ >= 0) ::close(master_);
}

Result<void> PtyPair::write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(master_, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail(std::strerror(errno), EX_IOERR);
        }
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return {};
}

}  // namespace timepipe
