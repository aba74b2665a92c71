// What clockadj(8) does with one validated Adjust record, as pure values: the kernel operations
// (timex fields in the kernel's units) and the Applied record that reports them. No I/O: the
// caller reads the clocks and passes the times in; libtime/sys/clock_adjust.hpp performs a plan.
//
//   discipline::ClockState st;               // what clockadj has set so far
//   st.base_ppm = kernel_frequency_now;      // or 0 with --dry-run
//   auto plan = discipline::plan_adjust(adjust, st, opt, realtime_now, monotonic_now);
//   if (!plan) refuse(plan.error().what);    // "adjust: \"step\": 2000 s is beyond --max-step 1000 s"
//   perform(*plan); st = plan->next;         // then write plan->applied
//
// Mechanism (man/clockadj.8): the kernel PLL is off; the frequency is set with ADJ_FREQUENCY in
// 2^-16 ppm; a slew of x s over d s is a temporary frequency offset x/d on top of the frequency
// until the monotonic time slew_end, then the frequency returns to the base (end_slew). ADJ_FREQUENCY
// reaches ±500 ppm; beyond, the kernel's tick length (ADJ_TICK, USER_HZ ppm per µs) carries the
// rest, up to ±10 % in total, as chronyd does. A slew with a duration may use the tick; one
// without runs as adjtime(3)'s, within ±500 ppm in total; a slew that does not fit its bound
// is stretched in time. A PTP clock has no tick: ±500 ppm for everything.
// A step is ADJ_SETOFFSET|ADJ_NANO with tv_sec = floor(step), tv_nsec in [0, 1e9).
// A leap is armed (STA_INS/STA_DEL) only when the record's UTC day is the clock's UTC day, and
// disarmed after the end of that day (leap_disarm_at) or by a record without it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::discipline {

inline constexpr double kKernelMaxPpm = 500;          // ADJ_FREQUENCY's range
inline constexpr double kTickMaxPpm = 100'000;        // ADJ_TICK's range: tick within ±10 % of nominal
inline constexpr std::int64_t kScaledPerPpm = 65536;  // timex.freq is in 2^-16 ppm

// A clock rate as the kernel takes it: timex.freq (2^-16 ppm) and timex.tick (µs per tick of
// USER_HZ; 0 on a clock without one). The tick stays nominal while the frequency alone fits.
struct KernelRate {
    std::int64_t freq_scaled = 0;
    std::int64_t tick = 0;
    friend bool operator==(const KernelRate&, const KernelRate&) = default;
};
// `ppm` clamped to what the clock can do: ±kKernelMaxPpm without a tick (tick_hz 0), else
// ±kTickMaxPpm with the tick the smallest change that leaves the frequency within ±500 ppm.
KernelRate kernel_rate(double ppm, int tick_hz);
// The rate of a kernel reading in ppm (frequency plus tick offset).
double rate_ppm(const KernelRate& r, int tick_hz);
std::int64_t nominal_tick(int tick_hz);  // 1e6 / USER_HZ rounded, as the kernel's USER_TICK_USEC

// ppm → 2^-16 ppm, rounded to nearest (ties away from zero), and back.
std::int64_t ppm_to_scaled(double ppm);
double scaled_to_ppm(std::int64_t scaled);

// The ADJ_SETOFFSET|ADJ_NANO encoding of a step: seconds rounded to ns, tv_sec the floor,
// tv_nsec in [0, 1e9): -0.3 s is {-1, 700000000}.
struct StepSpec {
    std::int64_t sec = 0;
    std::int64_t nsec = 0;
    friend bool operator==(const StepSpec&, const StepSpec&) = default;
};
StepSpec step_encoding(double seconds);

enum class LeapArm { none, insert, del };

struct PlanOptions {
    double max_step = 1000;        // s, --max-step; larger steps are refused
    bool leap_supported = true;    // false for a PTP clock: a leap in a record is not armed
    std::string clock_name = "CLOCK_REALTIME";
    bool dry_run = false;
    int tick_hz = 0;               // USER_HZ if the clock has a tick (CLOCK_REALTIME), 0 if not (PTP)
};

// What clockadj has set and is doing.
struct ClockState {
    double base_ppm = 0;                // the frequency without the slew
    double slew_rate_ppm = 0;           // on top of base while a slew runs
    std::int64_t slew_end = 0;          // monotonic ns when the slew ends (valid if rate != 0)
    double slew_total = 0;              // s, the slew in progress, for the record at its end
    LeapArm leap = LeapArm::none;
    UnixNanos leap_disarm_at = 0;       // realtime ns: the end of the leap day + 1 s

    bool slewing() const { return slew_rate_ppm != 0; }
    double total_ppm() const { return base_ppm + slew_rate_ppm; }
    // s of the slew not yet done at monotonic time `now`.
    double slew_remaining(std::int64_t now) const;
    friend bool operator==(const ClockState&, const ClockState&) = default;
};

struct Plan {
    std::optional<StepSpec> step;       // ADJ_SETOFFSET|ADJ_NANO, done first
    KernelRate rate;                    // ADJ_FREQUENCY (and ADJ_TICK), always set: base + slew rate
    LeapArm leap = LeapArm::none;       // ADJ_STATUS: PLL off, this leap bit (if supported)
    ClockState next;                    // the state after the plan is performed
    Applied applied;                    // the audit record (time = realtime now)
    std::vector<std::string> notes;     // things said once with -v ("leap not on its day")
};

// Refuses (EX_DATAERR, the text names the key) a step beyond opt.max_step. As time-stream(5)
// says, a record with "frequency", "slew" or "step" ends a slew in progress (its rest is
// dropped: the discipline's next estimate includes it) and starts its own slew, if any; a
// record with none of the three lets it run on. Without "frequency" the base stays.
Result<Plan> plan_adjust(const Adjust& a, const ClockState& st, const PlanOptions& opt,
                         UnixNanos realtime_now, std::int64_t monotonic_now);

// The end of a slew (at its time, or cut short at exit): back to the base frequency.
Plan end_slew(const ClockState& st, const PlanOptions& opt, UnixNanos realtime_now);

// The end of the leap day has passed: disarm.
Plan disarm_leap(const ClockState& st, const PlanOptions& opt, UnixNanos realtime_now);

// UTC day number (days since 1970) of a time, floor for negative times.
std::int64_t utc_day(UnixNanos t);

}  // namespace timepipe::discipline
