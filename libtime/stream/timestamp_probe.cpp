#include "libtime/stream/timestamp_probe.hpp"

#include <cmath>
#include <limits>
#include <utility>

#include "libtime/stream/record_fields.hpp"

namespace timepipe {
namespace {


// later - earlier in s; the subtraction in unsigned so any two int64 stamps are defined.
double seconds_between(std::int64_t later, std::int64_t earlier) {
    auto d = static_cast<std::uint64_t>(later) - static_cast<std::uint64_t>(earlier);
    bool negative = later < earlier;
    double magnitude = static_cast<double>(negative ? (~d + 1) : d) / 1e9;
    return negative ? -magnitude : magnitude;
}

std::optional<double> difference(const std::optional<UnixNanos>& later, const std::optional<UnixNanos>& earlier) {
    if (!later || !earlier) return std::nullopt;
    return seconds_between(*later, *earlier);
}


}  // namespace

void fill_differences(TimestampProbe& p) {
    p.tx_delay = difference(p.software_tx, p.user_tx);
    p.rx_delay = difference(p.user_rx, p.software_rx);
    p.round_trip = difference(p.software_rx, p.software_tx);
    p.tx_hw_minus_sw = difference(p.hardware_tx, p.software_tx);
    p.rx_hw_minus_sw = difference(p.hardware_rx, p.software_rx);
}

Record to_record(const TimestampCapabilities& c) {
    Record r = record_header(TimestampCapabilities::kType, c.source, c.time);
    r["interface"] = c.interface;
    r["capabilities"] = c.capabilities;
    r["phc_index"] = c.phc_index;
    r["tx_types"] = c.tx_types;
    r["rx_filters"] = c.rx_filters;
    if (c.enabled_tx_type) r["enabled_tx_type"] = *c.enabled_tx_type;
    if (c.enabled_rx_filter) r["enabled_rx_filter"] = *c.enabled_rx_filter;
    return r;
}

Record to_record(const TimestampProbe& p) {
    Record r = record_header(TimestampProbe::kType, p.source, p.time);
    r["seq"] = p.seq;
    if (p.interface) r["interface"] = *p.interface;
    r["user_tx"] = p.user_tx;
    if (p.software_tx) r["software_tx"] = *p.software_tx;
    if (p.hardware_tx) r["hardware_tx"] = *p.hardware_tx;
    if (p.software_rx) r["software_rx"] = *p.software_rx;
    if (p.hardware_rx) r["hardware_rx"] = *p.hardware_rx;
    if (p.user_rx) r["user_rx"] = *p.user_rx;
    if (p.tx_delay) r["tx_delay"] = *p.tx_delay;
    if (p.rx_delay) r["rx_delay"] = *p.rx_delay;
    if (p.round_trip) r["round_trip"] = *p.round_trip;
    if (p.tx_hw_minus_sw) r["tx_hw_minus_sw"] = *p.tx_hw_minus_sw;
    if (p.rx_hw_minus_sw) r["rx_hw_minus_sw"] = *p.rx_hw_minus_sw;
    return r;
}

template <>
Result<TimestampCapabilities> from_record<TimestampCapabilities>(const Record& record) {
    TimestampCapabilities c;
    RecordFields f(record, TimestampCapabilities::kType);
    f.expect_type();
    f.text("source", c.source, true);
    f.integer("time", c.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.text("interface", c.interface, true);
    f.names("capabilities", c.capabilities);
    f.integer("phc_index", c.phc_index, -1, RecordFields::kInt64Max);
    f.names("tx_types", c.tx_types);
    f.names("rx_filters", c.rx_filters);
    f.text("enabled_tx_type", c.enabled_tx_type, true);
    f.text("enabled_rx_filter", c.enabled_rx_filter, true);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    return c;
}

template <>
Result<TimestampProbe> from_record<TimestampProbe>(const Record& record) {
    TimestampProbe p;
    RecordFields f(record, TimestampProbe::kType);
    f.expect_type();
    f.text("source", p.source, true);
    f.integer("time", p.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("seq", p.seq, 0, RecordFields::kInt64Max);
    f.text("interface", p.interface, true);
    f.integer("user_tx", p.user_tx, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("software_tx", p.software_tx, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("hardware_tx", p.hardware_tx, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("software_rx", p.software_rx, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("hardware_rx", p.hardware_rx, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("user_rx", p.user_rx, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.number("tx_delay", p.tx_delay);
    f.number("rx_delay", p.rx_delay);
    f.number("round_trip", p.round_trip);
    f.number("tx_hw_minus_sw", p.tx_hw_minus_sw);
    f.number("rx_hw_minus_sw", p.rx_hw_minus_sw);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (p.time != p.user_tx) f.bad("time", "not equal to \"user_tx\"");
    if (p.user_rx && *p.user_rx < p.user_tx) f.bad("user_rx", "before \"user_tx\"");
    // Each difference must be what its stamps say: a reader can trust either.
    TimestampProbe want = p;
    fill_differences(want);
    const std::pair<const char*, std::pair<std::optional<double>, std::optional<double>>> checks[] = {
        {"tx_delay", {p.tx_delay, want.tx_delay}},
        {"rx_delay", {p.rx_delay, want.rx_delay}},
        {"round_trip", {p.round_trip, want.round_trip}},
        {"tx_hw_minus_sw", {p.tx_hw_minus_sw, want.tx_hw_minus_sw}},
        {"rx_hw_minus_sw", {p.rx_hw_minus_sw, want.rx_hw_minus_sw}},
    };
    for (const auto& [key, values] : checks) {
        const auto& [got, expected] = values;
        if (got.has_value() != expected.has_value())
            f.bad(key, got ? "present without both of its stamps" : "missing though both of its stamps are present");
        else if (got && std::fabs(*got - *expected) > 1e-9 + 1e-15 * std::fabs(*expected))
            f.bad(key, "not the difference of its stamps");
    }
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    return p;
}

}  // namespace timepipe
