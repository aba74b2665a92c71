// PPS pulses made into samples, as pure code: the sequence numbers of successive PPS_FETCH
// results (a repeated number is no new pulse, a gap counts missed pulses), and each pulse paired
// with the UTC second a coarse source names (a sample stream: gps-reader's NMEA times). No I/O,
// no clock: times come in as values, so replays and tests are exact. The rules are pps-capture(1)'s.
//
//   PpsSequence seq;
//   if (seq.on_edge(f.assert_sequence, f.assert_time) == PpsSequence::Verdict::pulse)
//       pairer.add_pulse(f.assert_time);
//   if (auto c = coarse_from_sample(s)) pairer.add_coarse(*c);   // from the sample stream
//   for (auto& o : pairer.advance(latest_time)) ...               // decided pulses, in order
//   for (auto& o : pairer.finish()) ...                           // at the end: the rest
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/unix_time.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::refclock {

// Successive sequence numbers of one edge. The kernel counts from 1; 0 is "no edge captured yet".
class PpsSequence {
public:
    enum class Verdict {
        pulse,       // a new edge
        repeated,    // the same number as the last one: the other edge woke PPS_FETCH, or a retry
        none_yet,    // sequence 0: the device has captured no edge of this kind
        backwards,   // the number went back (a driver reloaded, another capture mode): a new
                     // start, taken as a pulse, no missed pulses counted
        stale,       // a new number with a time not after the last pulse's: not taken
    };
    Verdict on_edge(std::uint32_t sequence, UnixNanos time);

    std::uint64_t pulses() const { return pulses_; }
    std::uint64_t repeated() const { return repeated_; }
    std::uint64_t missed() const { return missed_; }        // sum of the gaps
    std::uint64_t restarts() const { return restarts_; }
    std::uint64_t stale() const { return stale_; }

private:
    std::optional<std::uint32_t> last_;
    UnixNanos last_time_ = 0;
    std::uint64_t pulses_ = 0, repeated_ = 0, missed_ = 0, restarts_ = 0, stale_ = 0;
};

// A coarse second: at local time `time`, UTC was `time + offset` (a Sample's own meaning).
struct CoarseSecond {
    UnixNanos time = 0;
    double offset = 0;   // s
    int leap = 0;        // 0-2, passed on to the PPS samples
    friend bool operator==(const CoarseSecond&, const CoarseSecond&) = default;
};

// The sample as a coarse second, or nullopt when it names none: leap 3 (unsynchronised),
// stratum 16 or more, "verified": false, a kiss code, or a non-finite offset.
std::optional<CoarseSecond> coarse_from_sample(const Sample& s);

struct PpsConfig {
    std::string source = "pps://pps0";
    // How far the coarse UTC estimate of a pulse may be from the whole second it is rounded to:
    // beyond this the second is ambiguous and the pulse refused. Below 0.5.
    double max_distance = 0.4;          // s
    // How far in local time the coarse second taken may be from the pulse.
    std::int64_t max_age = 2 * kNanosPerSecond;
    double offset = 0;                  // s, added to every offset (cable delay: positive)
    double resolution = 1e-9;           // s, of the timestamps: part of the dispersion
    int precision = -30;                // log2 s of resolution, the samples' "precision"
    std::size_t jitter_window = 8;      // offsets the jitter is taken over
};

// What became of one pulse.
struct PpsOutcome {
    enum class Kind { sample, no_second, too_far };
    Kind kind = Kind::sample;
    UnixNanos pulse = 0;
    Sample sample;          // Kind::sample
    std::string reason;     // otherwise: "no coarse second within 2 s", "coarse second 0.45 s from ..."
};

class PpsPairer {
public:
    explicit PpsPairer(PpsConfig config) : config_(std::move(config)) {}

    void add_coarse(const CoarseSecond& c);
    // Pulses in increasing time (PpsSequence's `stale` keeps them so).
    void add_pulse(UnixNanos pulse);
    // Decides every pending pulse whose coarse second is known: a coarse second at or after
    // it has come, or `now` (local time) is max_age past it. In pulse order.
    std::vector<PpsOutcome> advance(UnixNanos now);
    // Decides every pending pulse with what is known.
    std::vector<PpsOutcome> finish();

    std::size_t pending() const { return pulses_.size(); }

private:
    PpsOutcome decide(UnixNanos pulse);
    void prune();

    PpsConfig config_;
    std::deque<CoarseSecond> coarse_;   // in the order of their times
    std::deque<UnixNanos> pulses_;
    std::deque<double> offsets_;        // the last accepted, for the jitter
};

}  // namespace timepipe::refclock
