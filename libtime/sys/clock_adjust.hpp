// clock_adjtime(2) on CLOCK_REALTIME or a PTP hardware clock (/dev/ptpN through FD_TO_CLOCKID):
// the one place timepipe changes a clock. Only clockadj(8) uses the writing half.
//
//   auto clock = AdjustableClock::realtime();            // or open_ptp("/dev/ptp0", true)
//   auto r = clock.read();                               // modes 0: needs no privilege
//   clock.set_frequency_status(scaled, tick, leap);      // ADJ_FREQUENCY | ADJ_TICK | ADJ_STATUS
//   clock.step({-1, 700'000'000});                       // ADJ_SETOFFSET | ADJ_NANO: -0.3 s
//
// Errors: EX_NOPERM without CAP_SYS_TIME ("clock_adjtime: Operation not permitted"), EX_OSERR
// for other failures, EX_NOINPUT when the PTP device cannot be opened.
#pragma once

#include <cstdint>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

struct ClockReading {
    std::int64_t freq_scaled = 0;  // timex.freq, 2^-16 ppm
    std::int64_t tick = 0;         // timex.tick, µs per USER_HZ tick (0 on a PTP clock)
    int status = 0;                // timex.status (STA_*)
    std::int64_t offset = 0;       // timex.offset (kernel PLL / adjtime offset still to apply)
    int state = 0;                 // clock_adjtime's return: TIME_OK, TIME_INS, ...
};

// The status bits clockadj owns (PLL modes and leap); a change in these or in the frequency
// that clockadj did not make is "clock interference".
int managed_status_bits();
int leap_status_bits(int leap);  // 0 none, 1 STA_INS, 2 STA_DEL
// USER_HZ, the unit of timex.tick (sysconf(_SC_CLK_TCK); 100 on Linux).
int kernel_tick_hz();

class AdjustableClock {
public:
    static AdjustableClock realtime();
    // Opens the PTP character device (read-write when `write`) and uses FD_TO_CLOCKID.
    static Result<AdjustableClock> open_ptp(const std::string& path, bool write);

    AdjustableClock(AdjustableClock&& other) noexcept;
    AdjustableClock& operator=(AdjustableClock&& other) noexcept;
    AdjustableClock(const AdjustableClock&) = delete;
    AdjustableClock& operator=(const AdjustableClock&) = delete;
    ~AdjustableClock();

    const std::string& name() const { return name_; }
    bool is_ptp() const { return fd_ >= 0; }

    // clock_gettime of this clock.
    Result<UnixNanos> now() const;
    // clock_adjtime with modes 0.
    Result<ClockReading> read() const;
    // Sets the frequency (2^-16 ppm) and, on CLOCK_REALTIME, the tick (µs; 0 leaves it) and the
    // status: PLL, FLL and PPS discipline off, STA_INS/STA_DEL as `leap` says, the other bits
    // kept. Returns the status set (0 on a PTP clock, which has neither tick nor status).
    Result<int> set_frequency_status(std::int64_t freq_scaled, std::int64_t tick, int leap);
    // Adds sec + nsec·1e-9 s (nsec in [0, 1e9)) to the clock at once.
    Result<void> step(std::int64_t sec, std::int64_t nsec);
    // Restores a reading exactly (frequency, tick and status): for tests and tools that saved one.
    Result<void> restore(const ClockReading& saved);

private:
    AdjustableClock(int clockid, int fd, std::string name) : clockid_(clockid), fd_(fd), name_(std::move(name)) {}

    int clockid_;
    int fd_ = -1;
    std::string name_;
};

}  // namespace timepipe
