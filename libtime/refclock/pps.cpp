#include "libtime/refclock/pps.hpp"

#include <cmath>
#include <cstdio>

namespace timepipe::refclock {

namespace {

constexpr std::size_t kMaxCoarse = 1 << 16;   // bounds memory when the stream runs far ahead
constexpr double kMaxCoarseOffset = 1e9;       // s: keeps pulse + offset within int64 ns

// |a - b| without overflow: sample times from the stream may be anything an int64 holds.
std::uint64_t distance(std::int64_t a, std::int64_t b) {
    return a >= b ? static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b)
                  : static_cast<std::uint64_t>(b) - static_cast<std::uint64_t>(a);
}

std::string seconds_text(double s) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.3g s", s);
    return buf;
}

}  // namespace

PpsSequence::Verdict PpsSequence::on_edge(std::uint32_t sequence, UnixNanos time) {
    if (sequence == 0) return Verdict::none_yet;
    if (last_ && sequence == *last_) {
        ++repeated_;
        return Verdict::repeated;
    }
    if (last_ && time <= last_time_) {
        // A new number at an old time is no pulse to pair; the number is remembered so the
        // next gap is counted from it.
        last_ = sequence;
        ++stale_;
        return Verdict::stale;
    }
    Verdict v = Verdict::pulse;
    if (last_) {
        std::uint32_t step = sequence - *last_;   // modulo 2^32: the counter wraps
        if (step > 0x80000000u) {
            ++restarts_;
            v = Verdict::backwards;
        } else {
            missed_ += step - 1;
        }
    }
    last_ = sequence;
    last_time_ = time;
    ++pulses_;
    return v;
}

std::optional<CoarseSecond> coarse_from_sample(const Sample& s) {
    if (s.leap == 3 || s.stratum >= 16 || s.verified == false || s.kod) return std::nullopt;
    if (!std::isfinite(s.offset) || std::fabs(s.offset) > kMaxCoarseOffset) return std::nullopt;
    return CoarseSecond{s.time, s.offset, s.leap};
}

void PpsPairer::add_coarse(const CoarseSecond& c) {
    auto at = coarse_.end();
    while (at != coarse_.begin() && std::prev(at)->time > c.time) --at;
    coarse_.insert(at, c);
    if (coarse_.size() > kMaxCoarse) coarse_.pop_front();
}

void PpsPairer::add_pulse(UnixNanos pulse) {
    pulses_.push_back(pulse);
    prune();
}

std::vector<PpsOutcome> PpsPairer::advance(UnixNanos now) {
    std::vector<PpsOutcome> out;
    while (!pulses_.empty()) {
        UnixNanos p = pulses_.front();
        bool after = !coarse_.empty() && coarse_.back().time >= p;
        bool waited = now >= p && distance(now, p) >= static_cast<std::uint64_t>(config_.max_age);
        if (!after && !waited) break;
        out.push_back(decide(p));
        pulses_.pop_front();
    }
    return out;
}

std::vector<PpsOutcome> PpsPairer::finish() {
    std::vector<PpsOutcome> out;
    for (UnixNanos p : pulses_) out.push_back(decide(p));
    pulses_.clear();
    return out;
}

void PpsPairer::prune() {
    // Coarse seconds too old for the oldest pulse still to decide are no use to any later one.
    UnixNanos oldest = pulses_.empty() ? 0 : pulses_.front();
    while (!coarse_.empty() && coarse_.front().time < oldest &&
           distance(oldest, coarse_.front().time) > static_cast<std::uint64_t>(config_.max_age))
        coarse_.pop_front();
}

PpsOutcome PpsPairer::decide(UnixNanos p) {
    PpsOutcome o;
    o.pulse = p;
    // The coarse second nearest in local time; on a tie the earlier.
    const CoarseSecond* best = nullptr;
    std::uint64_t best_age = 0;
    for (const auto& c : coarse_) {
        std::uint64_t age = distance(c.time, p);
        if (age > static_cast<std::uint64_t>(config_.max_age)) continue;
        if (!best || age < best_age) {
            best = &c;
            best_age = age;
        }
    }
    if (!best) {
        o.kind = PpsOutcome::Kind::no_second;
        o.reason = "no coarse second within " + seconds_text(nanos_to_seconds(config_.max_age)) + " of the pulse";
        return o;
    }
    // UTC of the pulse by the coarse source, and the whole second nearest to it.
    UnixNanos utc = 0;
    UnixNanos second = 0;
    auto coarse_ns = static_cast<std::int64_t>(std::llround(best->offset * 1e9));
    bool overflow = __builtin_add_overflow(p, coarse_ns, &utc);
    std::int64_t frac = 0;
    if (!overflow) {
        frac = utc % kNanosPerSecond;
        if (frac < 0) frac += kNanosPerSecond;
        second = utc - frac;
        if (frac >= kNanosPerSecond / 2) {
            overflow = __builtin_add_overflow(second, kNanosPerSecond, &second);
            frac -= kNanosPerSecond;
        }
    }
    std::int64_t phase_ns = 0;
    if (!overflow) overflow = __builtin_sub_overflow(second, p, &phase_ns);
    if (overflow) {
        o.kind = PpsOutcome::Kind::too_far;
        o.reason = "coarse second out of range";
        return o;
    }
    double distance = nanos_to_seconds(frac);
    if (std::fabs(distance) > config_.max_distance) {
        o.kind = PpsOutcome::Kind::too_far;
        o.reason = "coarse time " + seconds_text(distance) + " from the nearest second (limit " +
                   seconds_text(config_.max_distance) + ")";
        return o;
    }
    double offset = nanos_to_seconds(phase_ns) + config_.offset;

    offsets_.push_back(offset);
    while (offsets_.size() > std::max<std::size_t>(config_.jitter_window, 2)) offsets_.pop_front();
    std::optional<double> jitter;
    if (offsets_.size() >= 2) {
        double sum = 0;
        for (std::size_t i = 1; i < offsets_.size(); ++i) sum += (offsets_[i] - offsets_[i - 1]) * (offsets_[i] - offsets_[i - 1]);
        jitter = std::sqrt(sum / static_cast<double>(offsets_.size() - 1));
    }

    Sample& s = o.sample;
    s.source = config_.source;
    s.time = p;
    s.offset = offset;
    s.delay = 0;
    s.dispersion = config_.resolution + jitter.value_or(0);
    s.stratum = 0;
    s.leap = best->leap;
    s.refid = "PPS";
    s.poll = 0;
    s.root_delay = 0;
    s.root_dispersion = s.dispersion;
    s.jitter = jitter;
    s.precision = config_.precision;
    return o;
}

}  // namespace timepipe::refclock
