#include "libtime/sys/pps.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <linux/pps.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace timepipe {

static_assert(pps_mode::kCaptureAssert == PPS_CAPTUREASSERT && pps_mode::kCaptureClear == PPS_CAPTURECLEAR);
static_assert(pps_mode::kOffsetAssert == PPS_OFFSETASSERT && pps_mode::kOffsetClear == PPS_OFFSETCLEAR);
static_assert(pps_mode::kEchoAssert == PPS_ECHOASSERT && pps_mode::kEchoClear == PPS_ECHOCLEAR);
static_assert(pps_mode::kCanWait == PPS_CANWAIT && pps_mode::kCanPoll == PPS_CANPOLL);
static_assert(pps_mode::kTsfmtTspec == PPS_TSFMT_TSPEC && pps_mode::kTsfmtNtpfp == PPS_TSFMT_NTPFP);

namespace {

int capture_bit(PpsEdge edge) { return edge == PpsEdge::assert ? pps_mode::kCaptureAssert : pps_mode::kCaptureClear; }
const char* edge_name(PpsEdge edge) { return edge == PpsEdge::assert ? "assert" : "clear"; }

int exit_code_for(int err) {
    switch (err) {
    case ENOENT: case ENODEV: case ENXIO: case ENOTDIR: return EX_NOINPUT;
    case EACCES: case EPERM: return EX_NOPERM;
    default: return EX_OSERR;
    }
}

UnixNanos nanos(const pps_ktime& t) { return t.sec * kNanosPerSecond + t.nsec; }

class LinuxPpsDevice final : public PpsDevice {
public:
    explicit LinuxPpsDevice(int fd) : fd_(fd) {}
    LinuxPpsDevice(const LinuxPpsDevice&) = delete;
    LinuxPpsDevice& operator=(const LinuxPpsDevice&) = delete;
    ~LinuxPpsDevice() override { ::close(fd_); }

    Result<int> capabilities() override {
        int caps = 0;
        if (::ioctl(fd_, PPS_GETCAP, &caps) < 0) return fail(std::string("PPS_GETCAP: ") + std::strerror(errno), EX_OSERR);
        return caps;
    }

    Result<void> enable(PpsEdge edge) override {
        auto caps = capabilities();
        if (!caps) return Unexpected<Error>{caps.error()};
        if (auto ok = check_pps_capabilities(*caps, edge); !ok) return ok;
        pps_kparams params{};
        if (::ioctl(fd_, PPS_GETPARAMS, &params) < 0)
            return fail(std::string("PPS_GETPARAMS: ") + std::strerror(errno), EX_OSERR);
        auto mode = pps_mode_for(params.mode, edge);
        if (!mode) return {};
        params.mode = *mode;
        if (::ioctl(fd_, PPS_SETPARAMS, &params) < 0) {
            int err = errno;
            return fail(std::string("PPS_SETPARAMS: ") + std::strerror(err), exit_code_for(err));
        }
        return {};
    }

    Result<std::optional<PpsFetch>> fetch(std::chrono::nanoseconds timeout) override {
        pps_fdata data{};
        auto ns = timeout.count() < 0 ? 0 : timeout.count();
        data.timeout.sec = ns / kNanosPerSecond;
        data.timeout.nsec = static_cast<std::int32_t>(ns % kNanosPerSecond);
        data.timeout.flags = 0;  // a valid timeout (PPS_TIME_INVALID would wait for ever)
        if (::ioctl(fd_, PPS_FETCH, &data) < 0) {
            if (errno == ETIMEDOUT || errno == EINTR) return std::optional<PpsFetch>{};
            return fail(std::string("PPS_FETCH: ") + std::strerror(errno), EX_OSERR);
        }
        return std::optional<PpsFetch>{PpsFetch{data.info.assert_sequence, nanos(data.info.assert_tu),
                                                data.info.clear_sequence, nanos(data.info.clear_tu)}};
    }

private:
    int fd_;
};

}  // namespace

std::string describe_pps_mode(int mode) {
    static const struct { int bit; const char* name; } kNames[] = {
        {pps_mode::kCaptureAssert, "assert"}, {pps_mode::kCaptureClear, "clear"},
        {pps_mode::kOffsetAssert, "offsetassert"}, {pps_mode::kOffsetClear, "offsetclear"},
        {pps_mode::kEchoAssert, "echoassert"}, {pps_mode::kEchoClear, "echoclear"},
        {pps_mode::kCanWait, "canwait"}, {pps_mode::kCanPoll, "canpoll"},
        {pps_mode::kTsfmtTspec, "tspec"}, {pps_mode::kTsfmtNtpfp, "ntpfp"},
    };
    std::string out;
    int known = 0;
    for (const auto& n : kNames) {
        known |= n.bit;
        if (mode & n.bit) out += (out.empty() ? "" : ",") + std::string(n.name);
    }
    if (int rest = mode & ~known) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "0x%x", static_cast<unsigned>(rest));
        out += (out.empty() ? "" : ",") + std::string(buf);
    }
    return out.empty() ? "none" : out;
}

Result<void> check_pps_capabilities(int caps, PpsEdge edge) {
    std::string missing;
    if (!(caps & capture_bit(edge))) missing = std::string("cannot capture the ") + edge_name(edge) + " edge";
    else if (!(caps & pps_mode::kCanWait)) missing = "cannot wait for an edge";
    else if (!(caps & pps_mode::kTsfmtTspec)) missing = "gives no timespec timestamps";
    if (missing.empty()) return {};
    return fail(missing + " (" + describe_pps_mode(caps) + ")", EX_UNAVAILABLE);
}

std::optional<int> pps_mode_for(int current, PpsEdge edge) {
    int want = (current | capture_bit(edge) | pps_mode::kTsfmtTspec) & ~pps_mode::kTsfmtNtpfp;
    if (want == current) return std::nullopt;
    return want;
}

Result<std::unique_ptr<PpsDevice>> open_pps_device(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && (errno == EACCES || errno == EPERM || errno == EROFS))
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int err = errno;
        return fail(std::strerror(err), exit_code_for(err));
    }
    auto dev = std::make_unique<LinuxPpsDevice>(fd);
    if (auto caps = dev->capabilities(); !caps) {
        return fail("not a PPS device: " + caps.error().what, EX_UNAVAILABLE);
    }
    return std::unique_ptr<PpsDevice>(std::move(dev));
}

}  // namespace timepipe
