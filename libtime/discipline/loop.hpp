// The control loop: chrony's approach (sourcestats.c, regress.c). Every measured offset is turned
// into the offset a free-running clock would show (the measurement plus every correction this loop
// has asked for since it started), a weighted linear regression over an adaptive number of those
// points gives the clock's frequency error (the slope) and its offset now (the line at now); the
// frequency is corrected at once and the remaining offset slewed by a temporary frequency offset.
//
//   Loop loop({}, drift_ppm);                         // the frequency the clock runs at now
//   LoopResult r = loop.update(t, offset, error);     // one measurement; error: its half-width, s
//   if (r.panic) refuse(r.offset);                    // beyond config.panic: nothing changed
//   else send(r.frequency, r.slew, r.slew_duration, r.step);
//
// The loop assumes each correction it returns is applied exactly (frequency at once, the slew as
// slew / slew_duration on top of it for slew_duration seconds, replacing a slew in progress, a
// step at once): the applier is clockadj(8) or clocksim(1). Pure: times are the records' times.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>

#include "libtime/base/unix_time.hpp"

namespace timepipe::discipline {

struct LoopConfig {
    double step_threshold = 0.128;      // s; 0: never step
    int step_limit = 3;                 // steps allowed during the first N updates
    bool step_always = false;
    double panic = 1000;                // s: a correction beyond this is refused
    double max_slew_rate = 83333e-6;    // s/s, the temporary frequency offset at most (chrony's)
    double corr_time_ratio = 0.1;       // as chrony's corrtimeratio (3 there; tuned in simulation)
    double max_frequency = 500;         // ppm, |frequency| at most
    std::size_t max_points = 24;        // points kept for the regression
    int min_poll = 6;
    int max_poll = 10;
    std::size_t poll_target = 8;        // points in the regression before the poll grows
    std::size_t min_points_long = 6;    // at longer polls the points kept shrink to this (0: no)
    double weight_floor = 0.2;          // × the median point error: the floor of the weights
};

struct LoopResult {
    bool panic = false;             // |offset| > panic: nothing changed, nothing to apply
    double offset = 0;              // s, the estimated offset now, before this correction
    double frequency = 0;           // ppm, absolute
    std::optional<double> step;     // s
    double slew = 0;                // s
    double slew_duration = 0;       // s, > 0 when slew != 0
    double skew = 0;                // ppm, the frequency estimate's standard error
    double rms = 0;                 // s, the regression's weighted residual RMS
    std::size_t points = 0;         // in the regression
    int poll = 6;                   // log2 s, the poll interval wanted next
};

class Loop {
public:
    explicit Loop(const LoopConfig& config = {}, double frequency_ppm = 0);

    // One measurement: `offset` (s, reference minus local clock) measured at local time `t`,
    // `error` its half-width (s, >= 0; weights the point by 1 / (error² + floor²)). Times must
    // not go back by more than a step would explain; an older point is used as of `t` anyway.
    // `source_poll` (log2 s): the interval the source really polls at, which a client with its
    // own --maxpoll may hold below the poll asked for; the window and the slew time follow it.
    LoopResult update(UnixNanos t, double offset, double error, std::optional<int> source_poll = {});

    // The phase correction asked for from the start up to local time t (steps, the frequency
    // relative to the starting one, slews), s: what the clock moved by the loop's doing.
    double correction_at(UnixNanos t) const;
    // Its phase part alone (steps and slews, not the frequency): what separates two offsets of
    // one source measured at different times while the frequency holds the clock steady.
    double phase_correction_at(UnixNanos t) const;

    double frequency() const { return frequency_; }   // ppm, absolute, as last set
    double skew() const { return skew_; }
    int poll() const { return poll_; }
    std::size_t updates() const { return updates_; }

private:
    struct Point {
        double t;      // s since t0_
        double u;      // free-running offset, s
        double error;  // s
    };
    void advance(UnixNanos t);
    double frequency_since_anchor(double s) const;
    double slew_since_anchor(double s) const;
    double seconds(UnixNanos t) const { return nanos_to_seconds(t - t0_); }

    LoopConfig config_;
    double base_frequency_;          // ppm, the frequency when the loop started
    double frequency_;               // ppm, absolute
    UnixNanos t0_ = 0;
    bool started_ = false;
    // The correction accumulator: at anchor_ (s since t0_) it was c_; it grows at
    // (frequency_ - base_frequency_) 1e-6 s/s, plus slew_rate_ until slew_end_.
    double anchor_ = 0;
    double c_ = 0;
    double phase_ = 0;               // the part of c_ from steps and slews, at anchor_
    double stepped_ = 0;             // s, steps so far: local times read that much more
    double slew_rate_ = 0;
    double slew_end_ = 0;
    std::deque<Point> points_;
    double skew_ = 0;
    int poll_;
    std::size_t updates_ = 0;
};

// Weighted least squares of y over x: y = a + b (x - x_last). Exposed for the unit tests.
struct LineFit {
    double at_last = 0;   // a: the line at the last x
    double slope = 0;     // b
    double slope_sd = 0;  // standard error of b
    double rms = 0;       // weighted RMS of the residuals
    std::size_t runs = 0; // runs of residual signs
};
struct WeightedPoint {
    double x, y, w;
};
LineFit fit_line(const WeightedPoint* p, std::size_t n);

}  // namespace timepipe::discipline
