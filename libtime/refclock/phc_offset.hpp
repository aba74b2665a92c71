// A PTP hardware clock (PHC) against the system clock, as chrony's `refclock PHC` measures it:
// the kernel's PTP_SYS_OFFSET_PRECISE, PTP_SYS_OFFSET_EXTENDED or PTP_SYS_OFFSET results
// (read by libtime/sys/phc.hpp as the bytes of their structs) decoded and turned into one
// offset and the readout window it is known within. Pure: bytes in, values out.
//
//   auto m = measure_phc([&](PhcMethod how, int n) { return dev.query(how, n); }, 10);
//   // m->offset_ns: PHC minus CLOCK_REALTIME at m->time; m->delay_ns: the window
//
// Methods, best first: precise (a cross-timestamp from the device: no window at all),
// extended (n triples system-before, PHC, system-after: the narrowest window wins), basic
// (2n+1 alternating system, PHC, ..., system readings: the same on each PHC reading's
// neighbours). measure_phc tries them in that order; a query that answers EX_UNAVAILABLE
// (the driver does not offer it) falls through to the next, any other error ends it.
//
// Layouts (include/uapi/linux/ptp_clock.h): ptp_clock_time is s64 sec, u32 nsec, u32 reserved
// (16 bytes); ptp_sys_offset is u32 n_samples, u32 rsv[3], ts[2*25+1]; ptp_sys_offset_extended
// is u32 n_samples, s32 clockid, u32 rsv[2], ts[25][3]; ptp_sys_offset_precise is device,
// sys_realtime, sys_monoraw, u32 rsv[4]. All in host byte order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::refclock {

inline constexpr int kPtpMaxSamples = 25;  // PTP_MAX_SAMPLES
inline constexpr std::size_t kPtpClockTimeSize = 16;
inline constexpr std::size_t kPtpSysOffsetSize = 16 + (2 * kPtpMaxSamples + 1) * kPtpClockTimeSize;  // 832
inline constexpr std::size_t kPtpSysOffsetExtendedSize = 16 + kPtpMaxSamples * 3 * kPtpClockTimeSize;  // 1216
inline constexpr std::size_t kPtpSysOffsetPreciseSize = 3 * kPtpClockTimeSize + 16;  // 64

enum class PhcMethod : std::uint8_t { precise, extended, basic };
std::string_view to_string(PhcMethod m);  // "precise", "extended", "basic"

// One PHC reading and the system clock readings around it.
struct PhcReading {
    UnixNanos sys_before = 0;  // CLOCK_REALTIME just before the PHC was read
    UnixNanos phc = 0;         // the PHC, ns since its epoch (TAI or UTC, as its master keeps it)
    UnixNanos sys_after = 0;   // CLOCK_REALTIME just after (== sys_before for a cross-timestamp)
    friend bool operator==(const PhcReading&, const PhcReading&) = default;
};

// The readings in a result. EX_DATAERR when the size is not the struct's, n_samples is not
// 1..25, a nsec is not below 1e9, a time does not fit in int64 ns, or a system reading after
// the PHC one is before the one before it.
Result<std::vector<PhcReading>> decode_sys_offset(PhcMethod method, std::span<const std::byte> raw);

// What the clock reads, as chrony's refclock PHC takes it.
struct PhcMeasurement {
    PhcMethod method = PhcMethod::precise;
    UnixNanos time = 0;         // system clock at the chosen reading (the midpoint of its window)
    std::int64_t offset_ns = 0; // PHC minus system clock at `time`
    std::int64_t delay_ns = 0;  // the chosen reading's window (sys_after - sys_before), >= 0
    int readings = 0;           // how many the kernel gave
    friend bool operator==(const PhcMeasurement&, const PhcMeasurement&) = default;
};

// The reading with the narrowest window (the first of equals): its midpoint is the system time
// the PHC reading belongs to, at most delay/2 away. EX_DATAERR when there is none.
Result<PhcMeasurement> choose_reading(PhcMethod method, std::span<const PhcReading> readings);

// The bytes of one query's result, or its error (EX_UNAVAILABLE: not offered by this driver).
using PhcQuery = std::function<Result<std::vector<std::byte>>(PhcMethod method, int samples)>;

// precise, else extended, else basic, each asked for `samples` readings (1..25).
Result<PhcMeasurement> measure_phc(const PhcQuery& query, int samples);

// The sample record of one measurement, as chrony's refclock PHC would add it: source
// "phc://ptp0", time the system clock at the reading, offset the PHC minus the system clock
// plus `correction_ns` (-37 s for a PHC kept in TAI, as chrony's `offset` option), delay the
// window and half of it as dispersion, stratum 0, refid "PHC", leap 0, poll `poll`.
Sample phc_sample(const PhcMeasurement& m, const std::string& source, std::int64_t correction_ns, int poll = 0);

// For tests and fuzzing: the bytes decode_sys_offset reads for these readings (basic takes
// each sys_after as the next reading's sys_before).
std::vector<std::byte> encode_sys_offset(PhcMethod method, std::span<const PhcReading> readings);

}  // namespace timepipe::refclock
