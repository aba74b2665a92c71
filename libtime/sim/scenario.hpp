// clocksim(1)'s scenarios: a simulated network and client clock, as `key value` lines (# comments).
// The model is the one of clknetsim, the simulator chrony's test suite uses (man/clocksim.1):
//
//   auto sc = parse_scenario(text);              // "line 3: \"wander\": bad number \"x\""
//   if (!sc) log::fatalx(sc.error().exit_code, "%s: %s", path, sc.error().what.c_str());
//   set_scenario_key(*sc, "offset", {"0.01"});   // an option overriding the file
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::sim {

struct ServerStep {
    double at = 0;       // true time, s since the start
    double seconds = 0;  // added to every NTP server's clock from then on
};

struct Scenario {
    std::uint64_t seed = 1;
    double duration = 2000;          // s of simulated time
    double offset = 0;               // s, the client clock's initial offset (clock - true time)
    double freq = 0;                 // constant part of the frequency error (1e-5 = 10 ppm)
    double wander = 0;               // σ of the random walk of the frequency error, per second
    double delay_up_base = 100e-6;   // s, client -> server: base + mean·Exp(1)
    double delay_up_mean = 100e-6;
    double delay_down_base = 100e-6; // s, server -> client
    double delay_down_mean = 100e-6;
    int servers = 1;                 // NTP servers, 192.0.2.1 ... 192.0.2.N
    int minpoll = 6;
    int maxpoll = 10;
    bool iburst = false;             // the first 4 exchanges of each server 2 s apart
    std::map<int, double> server_offset;            // server (1-based) -> s (a falseticker)
    std::vector<std::pair<double, double>> outages;  // [from, to): no NTP server answers
    std::vector<ServerStep> server_steps;
    int collude = 0;                 // NTP servers 1..collude offset by collude_offset
    double collude_offset = 0;
    int roughtime = 0;               // Roughtime servers, 192.0.2.101 ...
    double roughtime_radius = 1;     // s
    double roughtime_interval = 1024;  // s between measurements of each Roughtime server
    std::map<int, double> roughtime_offset;         // Roughtime server (1-based) -> s (a liar)

    friend bool operator==(const Scenario&, const Scenario&) = default;
};

// The key names, for the options and the man page.
const std::vector<std::string_view>& scenario_keys();

// Sets one key from its values (one for most keys, two for server-offset, outage, server-step,
// roughtime-offset, collude). Errors name the key: "\"servers\": \"0\" is not an integer from 1 to 64".
// Durations are plain seconds (decimal, exponent allowed).
Result<void> set_scenario_key(Scenario& sc, std::string_view key, const std::vector<std::string>& values);

// The whole file, keys applied in order on top of the defaults; errors are "line N: ..." with
// EX_DATAERR. Consistency (minpoll <= maxpoll, per-server indices within servers) is checked last.
Result<Scenario> parse_scenario(std::string_view text);

// minpoll <= maxpoll, server-offset indices <= servers, collude <= servers, roughtime-offset
// indices <= roughtime, outages from < to. Run after options have overridden the file.
Result<void> check_scenario(const Scenario& sc);

}  // namespace timepipe::sim
