#include "libtime/sim/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <queue>

namespace timepipe::sim {

// ---- Rng ----

namespace {
std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
constexpr double kPi = 3.14159265358979323846;
}  // namespace

Rng::Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
}

std::uint64_t Rng::next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Rng::uniform() {
    // 53 random bits, shifted by half a step: never 0, never 1.
    return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53;
}

double Rng::normal() {
    if (spare_) {
        double v = *spare_;
        spare_.reset();
        return v;
    }
    double u1 = uniform(), u2 = uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * kPi * u2);
    return r * std::cos(2 * kPi * u2);
}

double Rng::exponential() { return -std::log(uniform()); }

// ---- SimClock ----

void SimClock::set_frequency_ppm(double ppm) {
    freq_ = std::clamp(ppm * 1e-6, -kMaxFrequency, kMaxFrequency);
}

void SimClock::slew(double seconds, double duration) {
    slew_left_ = seconds;
    slew_rate_ = duration > 0 ? std::fabs(seconds) / duration : 0;
}

double SimClock::slew_rate() const {
    if (slew_left_ == 0) return 0;
    // adjtime-style: 500 ppm in all; with a duration, a temporary frequency offset that the
    // kernel's tick adjustment bounds to ±10 % (chronyd slews at up to 83 333 ppm this way).
    double want = slew_rate_ > 0 ? slew_rate_ : 2 * kMaxFrequency;
    double limit = slew_rate_ > 0 ? kMaxSlewRate : kMaxFrequency;
    double total = std::clamp(freq_ + std::copysign(want, slew_left_), -limit, limit);
    double s = total - freq_;
    return (s > 0) == (slew_left_ > 0) ? s : 0;
}

void SimClock::advance(double dt, double f_gen) {
    while (dt > 0) {
        double s = slew_rate();
        double h = dt;
        bool finishes = false;
        if (s != 0 && std::fabs(slew_left_) / std::fabs(s) <= h) {
            h = std::fabs(slew_left_) / std::fabs(s);
            finishes = true;
        }
        offset_ += h * ((1 + f_gen) * (1 + freq_ + s) - 1);
        if (finishes) {
            slew_left_ = 0;
            slew_rate_ = 0;
        } else {
            slew_left_ -= s * h;
        }
        dt -= h;
        if (h == 0 && !finishes) break;
    }
}

// ---- statistics ----

std::optional<double> settled_time(const std::vector<double>& abs_offset, double threshold) {
    std::size_t n = abs_offset.size();
    std::size_t i = n;
    while (i > 0 && abs_offset[i - 1] < threshold) --i;
    if (i == n) return std::nullopt;
    return static_cast<double>(i);
}

Figures compute_figures(const std::vector<double>& abs_offset, const std::vector<double>& freq_error,
                        std::size_t late_from) {
    Figures f;
    std::vector<double> late;
    double sum2 = 0, fsum2 = 0;
    std::size_t fn = 0;
    for (std::size_t i = late_from; i < abs_offset.size(); ++i) {
        late.push_back(abs_offset[i]);
        sum2 += abs_offset[i] * abs_offset[i];
        f.late_max = std::max(f.late_max, abs_offset[i]);
    }
    for (std::size_t i = late_from; i < freq_error.size(); ++i, ++fn) fsum2 += freq_error[i] * freq_error[i];
    for (double v : abs_offset) f.max_offset = std::max(f.max_offset, v);
    if (!late.empty()) {
        f.late_rms = std::sqrt(sum2 / static_cast<double>(late.size()));
        std::sort(late.begin(), late.end());
        auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(late.size())));
        f.late_p99 = late[std::max<std::size_t>(rank, 1) - 1];
    }
    if (fn > 0) f.freq_rms = std::sqrt(fsum2 / static_cast<double>(fn)) * 1e6;
    f.settled_1ms = settled_time(abs_offset, 1e-3);
    f.settled_100us = settled_time(abs_offset, 100e-6);
    return f;
}

// ---- Simulator ----

namespace {

enum class Kind { ntp_poll, ntp_reply, rt_poll, rt_reply };

struct Event {
    double t;
    std::uint64_t seq;
    Kind kind;
    int server;          // 1-based
    double t1 = 0;       // client clock at send, s since the start
    double server_time = 0;
    std::uint64_t generation = 0;  // ntp_poll: stale when the server's schedule changed since
};

struct Later {
    bool operator()(const Event& a, const Event& b) const {
        return a.t != b.t ? a.t > b.t : a.seq > b.seq;
    }
};

UnixNanos clock_nanos(double clock_seconds) {
    return Simulator::kEpochSeconds * kNanosPerSecond + std::llround(clock_seconds * 1e9);
}

}  // namespace

Simulator::Simulator(const Scenario& sc) : sc_(sc) {}

Result<Figures> Simulator::run(const Responder& respond) {
    abs_offset_.clear();
    freq_error_.clear();
    Rng walk_rng(sc_.seed * 2 + 1);
    Rng net_rng(sc_.seed * 2 + 2);
    SimClock clock(sc_.offset);
    double t = 0, f_gen = sc_.freq, walk = 0;
    Figures fig;

    std::priority_queue<Event, std::vector<Event>, Later> q;
    std::uint64_t seq = 0;
    auto push = [&](Event e) {
        e.seq = seq++;
        q.push(e);
    };
    int poll = sc_.minpoll;
    std::vector<int> sent(static_cast<std::size_t>(sc_.servers) + 1, 0);
    std::vector<std::uint8_t> reach(static_cast<std::size_t>(sc_.servers) + 1, 0);
    std::vector<double> last_send(static_cast<std::size_t>(sc_.servers) + 1, 0);
    std::vector<std::uint64_t> generation(static_cast<std::size_t>(sc_.servers) + 1, 0);
    for (int i = 1; i <= sc_.servers; ++i) push(Event{1.0 + 0.1 * (i - 1), 0, Kind::ntp_poll, i});
    for (int i = 1; i <= sc_.roughtime; ++i) push(Event{0.5 + 0.01 * (i - 1), 0, Kind::rt_poll, i});

    auto in_outage = [&](double at) {
        for (auto& [from, to] : sc_.outages)
            if (at >= from && at < to) return true;
        return false;
    };
    auto server_offset = [&](int i, double at) {
        double off = 0;
        if (auto it = sc_.server_offset.find(i); it != sc_.server_offset.end()) off += it->second;
        if (i <= sc_.collude) off += sc_.collude_offset;
        for (auto& s : sc_.server_steps)
            if (at >= s.at) off += s.seconds;
        return off;
    };
    auto up = [&] { return sc_.delay_up_base + sc_.delay_up_mean * net_rng.exponential(); };
    auto down = [&] { return sc_.delay_down_base + sc_.delay_down_mean * net_rng.exponential(); };
    auto advance_to = [&](double to) {
        if (to > t) clock.advance(to - t, f_gen);
        t = std::max(t, to);
    };
    auto apply = [&](const Adjust& a) {
        ++fig.adjusts;
        if (a.step) {
            clock.step(*a.step);
            ++fig.steps;
        }
        if (a.frequency) clock.set_frequency_ppm(*a.frequency);
        if (a.slew) clock.slew(*a.slew, a.slew_duration.value_or(0));
        if (a.poll && std::clamp(*a.poll, sc_.minpoll, sc_.maxpoll) != poll) {
            // A new interval counts from each server's last request, as a client reschedules.
            poll = std::clamp(*a.poll, sc_.minpoll, sc_.maxpoll);
            for (int i = 1; i <= sc_.servers; ++i) {
                auto u = static_cast<std::size_t>(i);
                if (sent[u] == 0 || (sc_.iburst && sent[u] < 4)) continue;
                push(Event{std::max(t, last_send[u] + std::ldexp(1.0, poll)), 0, Kind::ntp_poll, i, 0, 0, ++generation[u]});
            }
        }
    };

    const auto last_second = static_cast<std::int64_t>(std::floor(sc_.duration));
    std::int64_t k = 0;
    while (k <= last_second) {
        if (q.empty() || static_cast<double>(k) <= q.top().t) {
            // The whole second: clock advanced at the old rate, f_gen re-evaluated, offset sampled.
            advance_to(static_cast<double>(k));
            walk += sc_.wander * walk_rng.normal();
            f_gen = sc_.freq + walk;
            abs_offset_.push_back(std::fabs(clock.offset()));
            freq_error_.push_back((1 + f_gen) * (1 + clock.frequency()) - 1);
            ++k;
            continue;
        }
        Event e = q.top();
        q.pop();
        if (e.kind == Kind::ntp_poll && e.generation != generation[static_cast<std::size_t>(e.server)]) continue;
        advance_to(e.t);
        const double local = t + clock.offset();
        switch (e.kind) {
        case Kind::ntp_poll: {
            last_send[static_cast<std::size_t>(e.server)] = t;
            auto& n = sent[static_cast<std::size_t>(e.server)];
            ++n;
            ++fig.requests;
            reach[static_cast<std::size_t>(e.server)] = static_cast<std::uint8_t>(reach[static_cast<std::size_t>(e.server)] << 1);
            double interval = sc_.iburst && n < 4 ? 2.0 : std::ldexp(1.0, poll);
            push(Event{t + interval, 0, Kind::ntp_poll, e.server, 0, 0, generation[static_cast<std::size_t>(e.server)]});
            double du = up(), dd = down();
            if (in_outage(t) || in_outage(t + du + dd)) break;
            push(Event{t + du + dd, 0, Kind::ntp_reply, e.server, local, t + du + server_offset(e.server, t + du)});
            break;
        }
        case Kind::rt_poll: {
            push(Event{t + sc_.roughtime_interval, 0, Kind::rt_poll, e.server});
            double du = up(), dd = down();
            if (in_outage(t) || in_outage(t + du + dd)) break;
            double lie = 0;
            if (auto it = sc_.roughtime_offset.find(e.server); it != sc_.roughtime_offset.end()) lie = it->second;
            push(Event{t + du + dd, 0, Kind::rt_reply, e.server, local, t + du + lie});
            break;
        }
        case Kind::ntp_reply:
        case Kind::rt_reply: {
            double delay = local - e.t1;
            if (delay < 0) break;  // the clock was stepped back meanwhile: a client drops it
            Sample s;
            bool ntp = e.kind == Kind::ntp_reply;
            s.time = clock_nanos(local);
            s.offset = e.server_time - (e.t1 + local) / 2;
            s.delay = delay;
            s.stratum = 1;
            s.leap = 0;
            if (ntp) {
                auto i = static_cast<std::size_t>(e.server);
                reach[i] = static_cast<std::uint8_t>(reach[i] | 1);
                s.source = "ntp://192.0.2." + std::to_string(e.server) + ":123";
                s.dispersion = 2 * 0x1.0p-20 + 15e-6 * delay;
                s.refid = "GPS";
                s.poll = poll;
                s.root_delay = 0;
                s.root_dispersion = 1e-5;
                s.reach = reach[i];
                s.precision = -20;
                s.version = 4;
            } else {
                s.source = "roughtime://192.0.2." + std::to_string(100 + e.server) + ":2002";
                s.dispersion = 0;
                s.refid = "ROUG";
                s.poll = static_cast<int>(std::lround(std::log2(sc_.roughtime_interval)));
                s.root_dispersion = sc_.roughtime_radius;
                s.verified = true;
            }
            ++fig.samples;
            auto a = respond(s);
            if (!a) return Unexpected<Error>{a.error()};
            apply(*a);
            break;
        }
        }
    }

    std::size_t late_from = static_cast<std::size_t>(std::ceil(sc_.duration / 2));
    Figures stats = compute_figures(abs_offset_, freq_error_, late_from);
    stats.requests = fig.requests;
    stats.samples = fig.samples;
    stats.steps = fig.steps;
    stats.adjusts = fig.adjusts;
    double end = -1;
    for (auto& [from, to] : sc_.outages)
        if (to <= sc_.duration) end = std::max(end, to);
    if (end >= 0) {
        auto i = static_cast<std::size_t>(std::ceil(end));
        if (i < abs_offset_.size()) {
            stats.outage_end_offset = abs_offset_[i];
            double m = 0;
            for (std::size_t j = i; j < abs_offset_.size(); ++j) m = std::max(m, abs_offset_[j]);
            stats.after_outage_max = m;
        }
    }
    return stats;
}

}  // namespace timepipe::sim
