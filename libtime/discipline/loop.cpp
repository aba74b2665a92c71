#include "libtime/discipline/loop.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "libtime/stream/records.hpp"

namespace timepipe::discipline {

namespace {

// The fewest runs of residual signs a straight line through n points of white noise shows with
// about 97.5 % probability: mean 1 + (n - 1) / 2, standard deviation sqrt(n - 1) / 2. Fewer
// runs mean the points bend (the frequency changed): the oldest ones go.
std::size_t min_runs(std::size_t n) {
    double mean = 1.0 + static_cast<double>(n - 1) / 2.0;
    double sd = std::sqrt(static_cast<double>(n - 1)) / 2.0;
    double m = std::floor(mean - 2.0 * sd);
    return m < 1.0 ? 1 : static_cast<std::size_t>(m);
}

// The shortest time points must span before their line sets the frequency, s: several
// sources first answer within a fraction of a second, and 100 us between two of them over
// 0.1 s would read as 1000 ppm. An iburst's 2 s spacing is enough.
constexpr double kMinSpan = 1.0;

}  // namespace

LineFit fit_line(const WeightedPoint* p, std::size_t n) {
    LineFit f;
    if (n == 0) return f;
    double x_last = p[n - 1].x;
    if (n == 1) {
        f.at_last = p[0].y;
        f.runs = 1;
        return f;
    }
    double sw = 0, sx = 0, sy = 0;
    for (std::size_t i = 0; i < n; ++i) {
        sw += p[i].w;
        sx += p[i].w * (p[i].x - x_last);
        sy += p[i].w * p[i].y;
    }
    double mx = sx / sw, my = sy / sw;
    double sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double dx = (p[i].x - x_last) - mx;
        sxx += p[i].w * dx * dx;
        sxy += p[i].w * dx * (p[i].y - my);
    }
    f.slope = sxx > 0 ? sxy / sxx : 0.0;
    f.at_last = my + f.slope * (0.0 - mx);
    double ss = 0;
    int last_sign = 0;
    for (std::size_t i = 0; i < n; ++i) {
        double r = p[i].y - (f.at_last + f.slope * (p[i].x - x_last));
        ss += p[i].w * r * r;
        int sign = r > 0 ? 1 : (r < 0 ? -1 : last_sign);
        if (sign != 0 && sign != last_sign) ++f.runs;
        last_sign = sign;
    }
    if (f.runs == 0) f.runs = 1;
    f.rms = std::sqrt(ss / sw);
    if (n > 2 && sxx > 0) f.slope_sd = std::sqrt(ss / static_cast<double>(n - 2) / sxx);
    return f;
}

Loop::Loop(const LoopConfig& config, double frequency_ppm)
    : config_(config),
      base_frequency_(frequency_ppm),
      frequency_(frequency_ppm),
      poll_(config.min_poll) {}

// What the frequency and the slew in progress add from anchor_ to s (s since t0_, stepped).
double Loop::frequency_since_anchor(double s) const {
    return s > anchor_ ? (frequency_ - base_frequency_) * 1e-6 * (s - anchor_) : 0;
}
double Loop::slew_since_anchor(double s) const {
    const double slew_until = std::min(s, slew_end_);
    return slew_until > anchor_ ? slew_rate_ * (slew_until - anchor_) : 0;
}

void Loop::advance(UnixNanos t) {
    double s = seconds(t) - stepped_;
    if (s <= anchor_) return;  // a point from before the last one: as of the last one
    const double slew = slew_since_anchor(s);
    c_ += frequency_since_anchor(s) + slew;
    phase_ += slew;
    anchor_ = s;
}

double Loop::correction_at(UnixNanos t) const {
    if (!started_) return 0;
    const double s = seconds(t) - stepped_;
    return c_ + frequency_since_anchor(s) + slew_since_anchor(s);
}

double Loop::phase_correction_at(UnixNanos t) const {
    if (!started_) return 0;
    return phase_ + slew_since_anchor(seconds(t) - stepped_);
}

LoopResult Loop::update(UnixNanos t, double offset, double error, std::optional<int> source_poll) {
    if (!started_) {
        started_ = true;
        t0_ = t;
    }
    advance(t);
    double s = std::max(seconds(t) - stepped_, anchor_);
    if (!(error >= 0) || !std::isfinite(error)) error = 0;

    std::deque<Point> points = points_;
    points.push_back({s, offset + c_, error});
    // The window spans at most max_points of the shortest poll: at longer polls fewer points,
    // so that a wandering frequency is followed (not fewer than min_points_long).
    // The interval samples really come at: the poll asked for, or the source's if it polls faster.
    const int poll_used = source_poll ? std::clamp(*source_poll, config_.min_poll, poll_) : poll_;
    std::size_t max_points = config_.max_points;
    if (config_.min_points_long > 0 && poll_used > config_.min_poll)
        max_points = std::max(config_.min_points_long, config_.max_points >> std::min(poll_used - config_.min_poll, 16));
    while (points.size() > max_points) points.pop_front();

    // The weight floor: half the median error, so that the best points count most without one
    // lucky point deciding alone.
    std::vector<double> errors;
    errors.reserve(points.size());
    for (const auto& p : points) errors.push_back(p.error);
    std::nth_element(errors.begin(), errors.begin() + static_cast<long>(errors.size() / 2), errors.end());
    double floor = std::max(1e-7, config_.weight_floor * errors[errors.size() / 2]);

    LineFit fit;
    bool trimmed = false;
    for (;;) {
        std::vector<WeightedPoint> wp;
        wp.reserve(points.size());
        for (const auto& p : points) wp.push_back({p.t, p.u, 1.0 / (p.error * p.error + floor * floor)});
        fit = fit_line(wp.data(), wp.size());
        // A line through points a fraction of a second apart says nothing of the frequency:
        // the frequency holds until they span kMinSpan.
        if (wp.size() == 1 || points.back().t - points.front().t < kMinSpan)
            fit.slope = (frequency_ - base_frequency_) * 1e-6;
        if (points.size() <= 3 || fit.runs >= min_runs(points.size())) break;
        std::size_t drop = std::max<std::size_t>(1, points.size() / 4);
        if (points.size() - drop < 3) drop = points.size() - 3;
        points.erase(points.begin(), points.begin() + static_cast<long>(drop));
        trimmed = true;
    }

    LoopResult r;
    r.offset = fit.at_last - c_;
    r.points = points.size();
    r.rms = fit.rms;
    if (std::fabs(r.offset) > config_.panic) {
        r.panic = true;
        r.frequency = frequency_;
        r.poll = poll_;
        return r;
    }
    points_ = std::move(points);

    double f = base_frequency_ + fit.slope * 1e6;
    f = std::clamp(f, -config_.max_frequency, config_.max_frequency);
    frequency_ = f;
    skew_ = fit.slope_sd * 1e6;
    r.frequency = f;
    r.skew = skew_;

    bool may_step = config_.step_always || updates_ < static_cast<std::size_t>(std::max(0, config_.step_limit));
    slew_rate_ = 0;
    slew_end_ = s;
    if (may_step && config_.step_threshold > 0 && std::fabs(r.offset) > config_.step_threshold) {
        r.step = r.offset;
        c_ += r.offset;
        phase_ += r.offset;
        stepped_ += r.offset;  // local times from now on read that much more
    } else if (r.offset != 0) {
        double interval = std::ldexp(1.0, poll_used);
        double noise = std::max({fit.rms, floor, 1e-9});
        double d = std::max(std::fabs(r.offset) / config_.max_slew_rate,
                            config_.corr_time_ratio * interval * noise / std::fabs(r.offset));
        d = std::clamp(d, 1e-3, Adjust::kMaxSlewDuration);
        r.slew = r.offset;
        r.slew_duration = d;
        slew_rate_ = r.offset / d;
        slew_end_ = s + d;
    }

    // The poll grows while the line holds (enough points, none dropped for bending) and shrinks
    // when the frequency wanders (points dropped) or too few points remain.
    if (trimmed || points_.size() < config_.poll_target / 2) --poll_;
    else if (points_.size() >= config_.poll_target) ++poll_;
    poll_ = std::clamp(poll_, config_.min_poll, std::max(config_.min_poll, config_.max_poll));
    r.poll = poll_;
    ++updates_;
    return r;
}

}  // namespace timepipe::discipline
