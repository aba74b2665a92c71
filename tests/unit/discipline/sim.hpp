// A small closed-loop clock and network simulator for the discipline's unit tests, to the model of
// ../shared/anchors/discipline.md (clknetsim's): frequency error evaluated once a second as a
// constant plus a random walk, one-way delays base + mean·Exp(1) per packet and direction, ideal
// timestamps, corrections applied exactly as adjust records say. clocksim(1) is the full one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "libtime/discipline/discipline.hpp"

namespace timepipe::discipline::sim {

struct Scenario {
    std::uint64_t seed = 1;
    int duration = 40000;       // s
    double offset = 0.01;       // s, clock minus true time at start
    double freq = 10e-6;        // s/s
    double wander = 1e-9;       // σ per second
    double delay_base = 100e-6; // s, each way
    double delay_mean = 100e-6; // s, each way (client to server)
    double delay_down_mean = -1;  // s, server to client; < 0: delay_mean
    int servers = 1;
    std::vector<double> server_offsets;  // s, per server (a falseticker), default 0
    int outage_from = -1, outage_to = -1;  // s: no answers
    bool iburst = false;        // the first 8 exchanges 2 s apart
};

struct Figures {
    double late_rms = 0, late_max = 0;
    std::optional<int> settled_1ms, settled_100us;
    double freq_rms_ppm = 0;  // RMS of the total frequency error, late half
    int steps = 0;
    std::vector<Record> records;  // everything the discipline wrote
    std::vector<double> offsets;  // |offset| per second
};

inline Figures run(const Scenario& sc, const DisciplineConfig& config) {
    std::mt19937_64 rng(sc.seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::exponential_distribution<double> expo(1.0);
    Discipline d(config);
    Figures fig;
    const UnixNanos base = 1'700'000'000LL * kNanosPerSecond;
    double theta = sc.offset;  // clock - true
    double walk = 0;
    double freq_ppm = config.frequency, slew_rate = 0, slew_end = -1;
    int poll = config.loop.min_poll;
    std::vector<double> next_poll(static_cast<std::size_t>(sc.servers), 0.0);
    for (std::size_t i = 0; i < next_poll.size(); ++i) next_poll[i] = 1.0 + static_cast<double>(i);
    std::vector<int> exchanges(next_poll.size(), 0);
    double late_ss = 0, freq_ss = 0;
    int late_n = 0;
    int last_above_1ms = -1, last_above_100us = -1;
    for (int k = 0; k < sc.duration; ++k) {
        walk += sc.wander * normal(rng);
        double fgen = sc.freq + walk;
        // The second [k, k+1): exchanges due in it happen at its start (ideal, instant answers).
        for (int srv = 0; srv < sc.servers; ++srv) {
            auto si = static_cast<std::size_t>(srv);
            if (next_poll[si] > k) continue;
            next_poll[si] = k + std::ldexp(1.0, poll);
            if (sc.iburst && ++exchanges[si] < 8) next_poll[si] = k + 2;
            if (k >= sc.outage_from && k < sc.outage_to) continue;
            double up = sc.delay_base + sc.delay_mean * expo(rng);
            double down = sc.delay_base + (sc.delay_down_mean < 0 ? sc.delay_mean : sc.delay_down_mean) * expo(rng);
            double server_off = si < sc.server_offsets.size() ? sc.server_offsets[si] : 0.0;
            Sample s;
            s.source = "ntp://192.0.2." + std::to_string(srv + 1) + ":123";
            s.time = base + static_cast<UnixNanos>((k + theta) * 1e9);
            s.offset = -theta + server_off + (up - down) / 2;
            s.delay = up + down;
            s.dispersion = 1e-6;
            s.stratum = 1;
            s.refid = "GPS";
            s.poll = poll;
            s.root_delay = 0;
            s.root_dispersion = 1e-5;
            auto out = d.on_sample(s);
            for (auto& r : out.records) {
                if (record_type(r) == Adjust::kType) {
                    auto a = from_record<Adjust>(r);
                    if (a->frequency) freq_ppm = *a->frequency;
                    if (a->step) {
                        theta += *a->step;
                        ++fig.steps;
                        slew_rate = 0;
                    }
                    if (a->slew) {
                        slew_rate = *a->slew / *a->slew_duration;
                        slew_end = k + *a->slew_duration;
                    } else if (a->frequency) {
                        slew_rate = 0;
                    }
                    if (a->poll) poll = *a->poll;
                }
                fig.records.push_back(std::move(r));
            }
        }
        double slew_part = std::clamp(slew_end - k, 0.0, 1.0);
        theta += fgen + freq_ppm * 1e-6 + slew_rate * slew_part;
        if (slew_part < 1.0) slew_rate = slew_part > 0 ? slew_rate : 0;
        double a = std::fabs(theta);
        fig.offsets.push_back(a);
        if (a >= 1e-3) last_above_1ms = k;
        if (a >= 1e-4) last_above_100us = k;
        if (k >= sc.duration / 2) {
            late_ss += a * a;
            fig.late_max = std::max(fig.late_max, a);
            double fe = (fgen + freq_ppm * 1e-6) * 1e6;
            freq_ss += fe * fe;
            ++late_n;
        }
    }
    fig.late_rms = std::sqrt(late_ss / late_n);
    fig.freq_rms_ppm = std::sqrt(freq_ss / late_n);
    if (last_above_1ms < sc.duration - 1) fig.settled_1ms = last_above_1ms + 1;
    if (last_above_100us < sc.duration - 1) fig.settled_100us = last_above_100us + 1;
    return fig;
}

}  // namespace timepipe::discipline::sim
