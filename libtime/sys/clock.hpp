// Clocks behind one small interface (chrony's localp idea), so code that reads time can be
// tested on a simulated clock. This layer only reads: nothing here steps or slews.
//
//   SystemClock clock;                       // CLOCK_REALTIME
//   UnixNanos t = clock.now();
//   std::int8_t p = clock.precision_log2();  // e.g. -24 ≈ 60 ns, the NTP "precision" field
//
//   SimulatedClock sim(1'700'000'000 * kNanosPerSecond);
//   sim.set_frequency_ppm(12.5); sim.advance(kNanosPerSecond);  // 1 s of true time passes
//   sim.offset();                            // 12500 ns ahead of true time
//
//   std::int64_t m = monotonic_now();        // CLOCK_MONOTONIC ns, for timeouts and intervals
//   UnixNanos w = wall_clock_now();          // CLOCK_REALTIME ns, without a Clock
//   sleep_for(std::chrono::microseconds(100));  // this thread only; a signal may end it early
#pragma once

#include <chrono>
#include <cstdint>

#include "libtime/base/unix_time.hpp"

namespace timepipe {

class Clock {
public:
    virtual ~Clock() = default;
    virtual UnixNanos now() const = 0;
    // log2 of the clock's reading resolution in seconds, as NTP's precision field.
    virtual std::int8_t precision_log2() const = 0;
};

// Measured as ntpd does: the smallest nonzero step between successive reads, rounded to the
// nearest power of two. Reads the clock a few thousand times.
std::int8_t measure_precision_log2(const Clock& clock);

class SystemClock final : public Clock {
public:
    SystemClock();  // measures the precision once
    UnixNanos now() const override;
    std::int8_t precision_log2() const override { return precision_; }

private:
    std::int8_t precision_ = 0;
};

// Time moves only when told. True time advances with advance(); the clock's reading advances
// by the same amount scaled by (1 + frequency), and can be set or offset at any moment.
class SimulatedClock final : public Clock {
public:
    explicit SimulatedClock(UnixNanos start = 0, std::int8_t precision_log2 = -20)
        : true_time_(start), reading_(start), precision_(precision_log2) {}

    UnixNanos now() const override { return reading_; }
    std::int8_t precision_log2() const override { return precision_; }

    void advance(std::int64_t true_nanos);     // true time passes
    void set(UnixNanos reading) { reading_ = reading; }
    void set_offset(std::int64_t nanos) { reading_ = true_time_ + nanos; }
    void set_frequency_ppm(double ppm) { frequency_ppm_ = ppm; }

    UnixNanos true_time() const { return true_time_; }
    std::int64_t offset() const { return reading_ - true_time_; }  // reading − true time
    double frequency_ppm() const { return frequency_ppm_; }

private:
    UnixNanos true_time_;
    UnixNanos reading_;
    double frequency_ppm_ = 0.0;
    double carry_ = 0.0;  // sub-nanosecond remainder of the frequency error
    std::int8_t precision_;
};

// CLOCK_REALTIME now (what SystemClock::now() reads), for code that holds no Clock.
UnixNanos wall_clock_now();
std::int64_t monotonic_now();  // CLOCK_MONOTONIC, nanoseconds
void sleep_for(std::chrono::nanoseconds duration);  // on CLOCK_MONOTONIC; returns early on a signal

}  // namespace timepipe
