// The closed-loop simulation of clocksim(1), pure (no I/O): a client clock with kernel semantics,
// NTP and Roughtime servers behind a network with random delays, and a discipline answering each
// sample with an Adjust (through a callback, so a test can answer without a child process).
//
//   Simulator s(scenario);   // Roughtime servers measured from t = 0.5 s, NTP servers from 1 s
//   auto figures = s.run([&](const Sample& smp) -> Result<Adjust> { return ask_child(smp); });
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/sim/scenario.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::sim {

// A portable generator (xoshiro256**, seeded by splitmix64) with its own transforms, so a seed
// gives the same run with any standard library.
class Rng {
public:
    explicit Rng(std::uint64_t seed);
    std::uint64_t next();
    double uniform();        // (0, 1)
    double normal();         // N(0, 1), Box-Muller
    double exponential();    // Exp(1), mean 1

private:
    std::uint64_t s_[4];
    std::optional<double> spare_;
};

// The client clock: offset = clock - true time, advancing at (1 + f_gen)(1 + c) with c the
// frequency set plus any temporary slew. Kernel semantics: frequency clamped to ±500 ppm and
// immediate, step immediate; a slew without a duration runs as adjtime(3)'s, at most 500 ppm in
// total; a slew with a duration is a temporary frequency offset slew/duration on top of the
// frequency, bounded to ±10 % in total as the kernel's tick adjustment is. A slew that would need
// more than its bound runs longer until its phase is delivered.
class SimClock {
public:
    static constexpr double kMaxFrequency = 500e-6;
    static constexpr double kMaxSlewRate = 0.1;  // ADJ_TICK's range: tick 9000 ... 11000 us

    explicit SimClock(double offset = 0) : offset_(offset) {}
    // Advances by dt s of true time at frequency error f_gen.
    void advance(double dt, double f_gen);
    void set_frequency_ppm(double ppm);
    void step(double seconds) { offset_ += seconds; }
    // duration <= 0: as fast as allowed. Replaces a slew in progress, as adjtime(3) does.
    void slew(double seconds, double duration);

    double offset() const { return offset_; }
    double frequency() const { return freq_; }          // the set frequency, as a fraction
    double slew_remaining() const { return slew_left_; }
    double slew_rate() const;                           // the temporary offset now, a fraction

private:
    double offset_ = 0;
    double freq_ = 0;
    double slew_left_ = 0;   // s of phase still to deliver
    double slew_rate_ = 0;   // wanted |rate|, a fraction (0: as fast as allowed)
};

// Figures of one run (man/clocksim.1). Seconds, frequencies in ppm; nullopt = never settled.
struct Figures {
    double late_rms = 0, late_max = 0, late_p99 = 0;
    std::optional<double> settled_1ms, settled_100us;
    double freq_rms = 0;            // ppm, RMS of the clock's frequency error over the late half
    std::uint64_t requests = 0;     // NTP requests sent
    std::uint64_t samples = 0;      // samples given to the discipline (NTP and Roughtime)
    std::uint64_t steps = 0;
    std::uint64_t adjusts = 0;
    std::optional<double> outage_end_offset;     // |offset| when the last outage ended
    std::optional<double> after_outage_max;      // max |offset| from then to the end
    double max_offset = 0;                       // max |offset| over the whole run
};

// Statistics of a series of |offset| sampled once per second (index = second) and of the
// frequency error (fraction); "late" is from `late_from` on.
Figures compute_figures(const std::vector<double>& abs_offset, const std::vector<double>& freq_error,
                        std::size_t late_from);

// The time after which every later value is below `threshold` (0 if all are), or nullopt if
// the last one is not.
std::optional<double> settled_time(const std::vector<double>& abs_offset, double threshold);

class Simulator {
public:
    static constexpr std::int64_t kEpochSeconds = 1'700'000'000;  // the local clock at true time 0 is this + offset

    // Answers one sample with the adjust it causes, or an error that ends the run.
    using Responder = std::function<Result<Adjust>(const Sample&)>;

    explicit Simulator(const Scenario& sc);
    Result<Figures> run(const Responder& respond);

    // The per-second series of the last run (for tests).
    const std::vector<double>& abs_offsets() const { return abs_offset_; }

private:
    Scenario sc_;
    std::vector<double> abs_offset_;
    std::vector<double> freq_error_;
};

}  // namespace timepipe::sim
