#include "libtime/sim/scenario.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace timepipe::sim {

namespace {

Result<double> number(std::string_view key, const std::string& v, double lo, double hi) {
    if (v.empty() || v.size() > 64) return fail("\"" + std::string(key) + "\": bad number \"" + v.substr(0, 64) + "\"");
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || errno != 0 || !std::isfinite(d) || v[0] == ' ')
        return fail("\"" + std::string(key) + "\": bad number \"" + v + "\"");
    if (d < lo || d > hi)
        return fail("\"" + std::string(key) + "\": " + v + " is out of range");
    return d;
}

Result<long> integer(std::string_view key, const std::string& v, long lo, long hi) {
    char* end = nullptr;
    errno = 0;
    long n = v.empty() || v.size() > 20 ? 0 : std::strtol(v.c_str(), &end, 10);
    if (v.empty() || v.size() > 20 || end != v.c_str() + v.size() || errno != 0 || n < lo || n > hi)
        return fail("\"" + std::string(key) + "\": \"" + v.substr(0, 64) + "\" is not an integer from " +
                    std::to_string(lo) + " to " + std::to_string(hi));
    return n;
}

constexpr double kMaxTime = 1e7;     // s, about 116 days of simulated time
constexpr double kMaxOffset = 1e6;   // s
constexpr double kMaxDelay = 10;     // s

}  // namespace

const std::vector<std::string_view>& scenario_keys() {
    static const std::vector<std::string_view> keys = {
        "seed", "duration", "offset", "freq", "wander", "delay-up-base", "delay-up-mean",
        "delay-down-base", "delay-down-mean", "servers", "minpoll", "maxpoll", "iburst",
        "server-offset", "outage", "server-step", "collude", "roughtime", "roughtime-radius",
        "roughtime-interval", "roughtime-offset"};
    return keys;
}

Result<void> set_scenario_key(Scenario& sc, std::string_view key, const std::vector<std::string>& values) {
    const std::string k(key);
    std::size_t want = (key == "server-offset" || key == "outage" || key == "server-step" ||
                        key == "roughtime-offset" || key == "collude") ? 2 : 1;
    bool known = false;
    for (auto name : scenario_keys()) known = known || name == key;
    if (!known) return fail("unknown key \"" + k.substr(0, 64) + "\"");
    if (values.size() != want)
        return fail("\"" + k + "\": takes " + std::to_string(want) + (want == 1 ? " value" : " values"));
    const auto& v = values[0];
    auto set_num = [&](double& into, double lo, double hi) -> Result<void> {
        auto d = number(key, v, lo, hi);
        if (!d) return Unexpected<Error>{d.error()};
        into = *d;
        return {};
    };
    auto set_int = [&](int& into, long lo, long hi) -> Result<void> {
        auto n = integer(key, v, lo, hi);
        if (!n) return Unexpected<Error>{n.error()};
        into = static_cast<int>(*n);
        return {};
    };
    if (key == "seed") {
        auto n = integer(key, v, 0, 0x7fffffffffffffffL);
        if (!n) return Unexpected<Error>{n.error()};
        sc.seed = static_cast<std::uint64_t>(*n);
        return {};
    }
    if (key == "duration") return set_num(sc.duration, 1, kMaxTime);
    if (key == "offset") return set_num(sc.offset, -kMaxOffset, kMaxOffset);
    if (key == "freq") return set_num(sc.freq, -0.1, 0.1);
    if (key == "wander") return set_num(sc.wander, 0, 1e-3);
    if (key == "delay-up-base") return set_num(sc.delay_up_base, 0, kMaxDelay);
    if (key == "delay-up-mean") return set_num(sc.delay_up_mean, 0, kMaxDelay);
    if (key == "delay-down-base") return set_num(sc.delay_down_base, 0, kMaxDelay);
    if (key == "delay-down-mean") return set_num(sc.delay_down_mean, 0, kMaxDelay);
    if (key == "servers") return set_int(sc.servers, 1, 64);
    if (key == "minpoll") return set_int(sc.minpoll, 0, 17);
    if (key == "maxpoll") return set_int(sc.maxpoll, 0, 17);
    if (key == "iburst") {
        if (v == "on" || v == "yes" || v == "1") sc.iburst = true;
        else if (v == "off" || v == "no" || v == "0") sc.iburst = false;
        else return fail("\"iburst\": \"" + v.substr(0, 64) + "\" is not on or off");
        return {};
    }
    if (key == "roughtime") return set_int(sc.roughtime, 0, 9);
    if (key == "roughtime-radius") return set_num(sc.roughtime_radius, 0, kMaxOffset);
    if (key == "roughtime-interval") return set_num(sc.roughtime_interval, 1, kMaxTime);
    double second = 0;
    auto d2 = number(key, values[1], -kMaxOffset, kMaxOffset);
    if (!d2) return Unexpected<Error>{d2.error()};
    second = *d2;
    if (key == "server-offset" || key == "roughtime-offset" || key == "collude") {
        auto n = integer(key, v, key == "collude" ? 0 : 1, 64);
        if (!n) return Unexpected<Error>{n.error()};
        if (key == "server-offset") sc.server_offset[static_cast<int>(*n)] = second;
        else if (key == "roughtime-offset") sc.roughtime_offset[static_cast<int>(*n)] = second;
        else {
            sc.collude = static_cast<int>(*n);
            sc.collude_offset = second;
        }
        return {};
    }
    auto first = number(key, v, 0, kMaxTime);
    if (!first) return Unexpected<Error>{first.error()};
    if (key == "outage") {
        if (second < 0 || second > kMaxTime)
            return fail("\"outage\": " + values[1] + " is out of range");
        sc.outages.emplace_back(*first, second);
    } else {
        sc.server_steps.push_back(ServerStep{*first, second});
    }
    return {};
}

Result<void> check_scenario(const Scenario& sc) {
    if (sc.minpoll > sc.maxpoll)
        return fail("minpoll " + std::to_string(sc.minpoll) + " is above maxpoll " + std::to_string(sc.maxpoll));
    for (auto& [i, off] : sc.server_offset)
        if (i > sc.servers)
            return fail("\"server-offset\": server " + std::to_string(i) + " of " + std::to_string(sc.servers));
    if (sc.collude > sc.servers)
        return fail("\"collude\": " + std::to_string(sc.collude) + " of " + std::to_string(sc.servers) + " servers");
    for (auto& [i, off] : sc.roughtime_offset)
        if (i > sc.roughtime)
            return fail("\"roughtime-offset\": Roughtime server " + std::to_string(i) + " of " +
                        std::to_string(sc.roughtime));
    for (auto& [from, to] : sc.outages)
        if (!(from < to)) return fail("\"outage\": the end is not after the start");
    return {};
}

Result<Scenario> parse_scenario(std::string_view text) {
    Scenario sc;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        std::vector<std::string> words;
        std::size_t i = 0;
        while (i < line.size()) {
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
            std::size_t j = i;
            while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
            if (j > i) words.emplace_back(line.substr(i, j - i));
            i = j;
        }
        if (words.empty()) continue;
        std::string key = words[0];
        words.erase(words.begin());
        if (auto ok = set_scenario_key(sc, key, words); !ok)
            return fail("line " + std::to_string(line_no) + ": " + ok.error().what);
    }
    if (auto ok = check_scenario(sc); !ok) return Unexpected<Error>{ok.error()};
    return sc;
}

}  // namespace timepipe::sim
