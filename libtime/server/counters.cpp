#include "libtime/server/counters.hpp"

namespace timepipe {

namespace {
constexpr std::array<std::string_view, kCounterCount> kNames = {
    "received",       "answered",      "interleaved",       "kod_rate",      "kod_deny",
    "kod_rstr",       "dropped_malformed", "dropped_mode6", "dropped_mode7", "dropped_mode",
    "dropped_denied", "dropped_rate",  "send_errors",       "tx_timestamps",
    "wakeups",        "nts",           "nts_nak",           "dropped_nts",
};
}  // namespace

std::string_view to_string(Counter c) {
    auto i = static_cast<std::size_t>(c);
    return i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

CounterSnapshot& CounterSnapshot::operator+=(const CounterSnapshot& o) {
    for (std::size_t i = 0; i < kCounterCount; ++i) values[i] += o.values[i];
    return *this;
}

CounterSnapshot ServerCounters::snapshot() const noexcept {
    CounterSnapshot s;
    for (std::size_t i = 0; i < kCounterCount; ++i) s.values[i] = values_[i].load(std::memory_order_relaxed);
    return s;
}

std::string to_line(const CounterSnapshot& s) {
    std::string out;
    for (std::size_t i = 0; i < kCounterCount; ++i) {
        if (i != 0) out += ' ';
        out += kNames[i];
        out += '=';
        out += std::to_string(s.values[i]);
    }
    return out;
}

std::map<std::string, std::uint64_t> to_map(const CounterSnapshot& s) {
    std::map<std::string, std::uint64_t> m;
    for (std::size_t i = 0; i < kCounterCount; ++i) m.emplace(std::string(kNames[i]), s.values[i]);
    return m;
}

}  // namespace timepipe
