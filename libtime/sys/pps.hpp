// The Linux PPS API (RFC 2783 as Linux implements it, <linux/pps.h>) behind one small interface,
// so pps-capture runs the same code on a real /dev/ppsN and on a simulated device in tests.
//
//   auto dev = open_pps_device("/dev/pps0");      // or open_simulated_pps("edges.txt"): pps_sim.hpp
//   if (!dev) log::fatalx(dev.error().exit_code, "/dev/pps0: %s", dev.error().what.c_str());
//   if (auto ok = (*dev)->enable(PpsEdge::assert); !ok) ...   // EX_UNAVAILABLE, EX_NOPERM
//   auto got = (*dev)->fetch(std::chrono::seconds(2));         // nullopt: no edge in time
//
// Only this file's .cpp includes <linux/pps.h> and calls ioctl(2). Nothing here ran on a real
// PPS device on the machine this was written on (there was none): see pps-capture(1).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

enum class PpsEdge { assert, clear };

// The mode bits of PPS_GETCAP / PPS_GETPARAMS, as <linux/pps.h> numbers them (pps.cpp checks).
namespace pps_mode {
inline constexpr int kCaptureAssert = 0x01;
inline constexpr int kCaptureClear = 0x02;
inline constexpr int kOffsetAssert = 0x10;
inline constexpr int kOffsetClear = 0x20;
inline constexpr int kEchoAssert = 0x40;
inline constexpr int kEchoClear = 0x80;
inline constexpr int kCanWait = 0x100;
inline constexpr int kCanPoll = 0x200;
inline constexpr int kTsfmtTspec = 0x1000;
inline constexpr int kTsfmtNtpfp = 0x2000;
}  // namespace pps_mode

// "assert,clear,canwait,tspec" (unknown bits as "0x4000"), for -v and error messages.
std::string describe_pps_mode(int mode);
// Whether a device with capabilities `caps` can serve pps-capture on `edge`: it must capture
// that edge, wait for an event (PPS_FETCH with a timeout) and give timespec timestamps. The
// error (EX_UNAVAILABLE) names what is missing: "cannot capture the clear edge (assert,canwait,tspec)".
Result<void> check_pps_capabilities(int caps, PpsEdge edge);
// The mode to set from the current one: capture `edge` (keeping the other edge's capture bit,
// which another reader may use), timespec timestamps; nullopt when `current` already does.
std::optional<int> pps_mode_for(int current, PpsEdge edge);

// What one PPS_FETCH returns: the latest edge of each kind the device captured. A sequence
// number of 0 is an edge that never happened.
struct PpsFetch {
    std::uint32_t assert_sequence = 0;
    UnixNanos assert_time = 0;
    std::uint32_t clear_sequence = 0;
    UnixNanos clear_time = 0;
    friend bool operator==(const PpsFetch&, const PpsFetch&) = default;
};

class PpsDevice {
public:
    virtual ~PpsDevice() = default;
    virtual Result<int> capabilities() = 0;   // PPS_GETCAP
    // PPS_GETPARAMS, then PPS_SETPARAMS only when the mode must change (setting needs
    // CAP_SYS_TIME: EX_NOPERM). Checks the capabilities first.
    virtual Result<void> enable(PpsEdge edge) = 0;
    // PPS_FETCH: waits up to `timeout` for the next edge (Linux: the next event after the call;
    // a timeout under one kernel tick returns the latest edges at once) and returns the latest
    // edges; nullopt when none came (ETIMEDOUT) or a signal interrupted the wait.
    virtual Result<std::optional<PpsFetch>> fetch(std::chrono::nanoseconds timeout) = 0;
    // True once a simulated device has no more edges; a real one never ends.
    virtual bool ended() const { return false; }
};

// Opens a /dev/ppsN read-write (RFC 2783 asks for write access to set parameters; Linux checks
// CAP_SYS_TIME instead), or read-only when that is refused. Errors carry strerror's text: EX_NOINPUT when missing, EX_NOPERM when not ours,
// EX_UNAVAILABLE when it is no PPS device (PPS_GETCAP fails: "not a PPS device: ...").
Result<std::unique_ptr<PpsDevice>> open_pps_device(const std::string& path);

}  // namespace timepipe
