#include "libtime/sys/clock.hpp"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

namespace timepipe {
namespace {

std::int64_t read(clockid_t id) {
    timespec ts{};
    clock_gettime(id, &ts);  // cannot fail for these clock ids with a valid pointer
    return static_cast<std::int64_t>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

}  // namespace

std::int8_t measure_precision_log2(const Clock& clock) {
    // Keep reading until enough distinct steps were seen (a coarse clock needs longer), but give
    // up after a bound so a stopped clock cannot hang us.
    constexpr int kMaxReads = 100000;
    constexpr int kWantSteps = 100;
    std::int64_t best = std::numeric_limits<std::int64_t>::max();
    int steps = 0;
    UnixNanos last = clock.now();
    for (int i = 0; i < kMaxReads && steps < kWantSteps; ++i) {
        UnixNanos t = clock.now();
        std::int64_t d = t - last;
        if (d > 0) {
            best = std::min(best, d);
            ++steps;
        }
        last = t;
    }
    if (steps == 0)
        return 0;  // never moved: say 1 s, the least precise answer
    double l = std::round(std::log2(static_cast<double>(best) / 1e9));
    return static_cast<std::int8_t>(std::clamp(l, -127.0, 0.0));
}

SystemClock::SystemClock() : precision_(measure_precision_log2(*this)) {}

UnixNanos SystemClock::now() const { return read(CLOCK_REALTIME); }

void SimulatedClock::advance(std::int64_t true_nanos) {
    true_time_ += true_nanos;
    double scaled = static_cast<double>(true_nanos) * frequency_ppm_ * 1e-6 + carry_;
    double whole = std::trunc(scaled);
    carry_ = scaled - whole;
    reading_ += true_nanos + static_cast<std::int64_t>(whole);
}

std::int64_t monotonic_now() { return read(CLOCK_MONOTONIC); }
UnixNanos wall_clock_now() { return read(CLOCK_REALTIME); }

void sleep_for(std::chrono::nanoseconds duration) {
    if (duration.count() <= 0) return;
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(duration.count() / kNanosPerSecond);
    ts.tv_nsec = static_cast<long>(duration.count() % kNanosPerSecond);
    ::clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, nullptr);  // EINTR: the caller re-checks its state
}

}  // namespace timepipe
