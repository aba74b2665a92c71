#include "libtime/stream/timestamp_probe.hpp"

#include <cmath>
#include <limits>
#include <utility>

namespace timepipe {
namespace {

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

// Reads the known keys of one record, keeping the first fault (records.cpp's pattern).
class Reader {
public:
    Reader(const Record& r, std::string_view type) : r_(r), type_(type) {
        if (record_type(r) != type)
            fail_with("not a " + std::string(type) + " record (type \"" + std::string(record_type(r)) + "\")");
    }

    void text(const char* key, std::string& out, bool nonempty) {
        if (const Record* v = find(key, true)) read_text(key, *v, out, nonempty);
    }
    void text(const char* key, std::optional<std::string>& out, bool nonempty) {
        if (const Record* v = find(key, false)) read_text(key, *v, out.emplace(), nonempty);
    }
    void integer(const char* key, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
        if (const Record* v = find(key, true)) read_int(key, *v, out, lo, hi);
    }
    void integer(const char* key, std::optional<std::int64_t>& out) {
        if (const Record* v = find(key, false)) read_int(key, *v, out.emplace(), kInt64Min, kInt64Max);
    }
    void number(const char* key, std::optional<double>& out) {
        const Record* v = find(key, false);
        if (!v) return;
        if (!v->is_number()) return bad(key, "not a number");
        double d = v->get<double>();
        if (!std::isfinite(d)) return bad(key, "not a finite number");
        out = d;
    }
    void names(const char* key, std::vector<std::string>& out) {
        const Record* v = find(key, true);
        if (!v) return;
        if (!v->is_array()) return bad(key, "not an array");
        for (const auto& item : *v) {
            if (!item.is_string() || item.get_ref<const std::string&>().empty())
                return bad(key, "an item is not a non-empty text string");
            out.push_back(item.get<std::string>());
        }
    }

    void bad(const std::string& key, const std::string& why) { fail_with("\"" + key + "\": " + why); }
    Result<void> result() const {
        if (err_) return Unexpected<Error>{*err_};
        return {};
    }

private:
    const Record* find(const char* key, bool required) {
        if (err_) return nullptr;
        auto it = r_.find(key);
        if (it == r_.end()) {
            if (required) fail_with("missing \"" + std::string(key) + "\"");
            return nullptr;
        }
        return &*it;
    }
    void fail_with(std::string why) {
        if (!err_) err_ = Error{std::string(type_) + ": " + why, EX_DATAERR};
    }
    void read_text(const char* key, const Record& v, std::string& out, bool nonempty) {
        if (!v.is_string()) return bad(key, "not a text string");
        if (nonempty && v.get_ref<const std::string&>().empty()) return bad(key, "empty");
        out = v.get<std::string>();
    }
    void read_int(const char* key, const Record& v, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
        if (!v.is_number_integer()) return bad(key, "not an integer");
        std::string range = std::to_string(lo) + ".." + std::to_string(hi);
        if (v.is_number_unsigned()) {
            auto u = v.get<std::uint64_t>();
            if (u > static_cast<std::uint64_t>(kInt64Max)) return bad(key, std::to_string(u) + " is not in " + range);
            out = static_cast<std::int64_t>(u);
        } else {
            out = v.get<std::int64_t>();
        }
        if (out < lo || out > hi) return bad(key, std::to_string(out) + " is not in " + range);
    }

    const Record& r_;
    std::string_view type_;
    std::optional<Error> err_;
};

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

Record header(std::string_view type, const std::string& source, UnixNanos time) {
    Record r = Record::object();
    r["v"] = kStreamVersion;
    r["type"] = type;
    r["source"] = source;
    r["time"] = time;
    return r;
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
    Record r = header(TimestampCapabilities::kType, c.source, c.time);
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
    Record r = header(TimestampProbe::kType, p.source, p.time);
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
    Reader f(record, TimestampCapabilities::kType);
    f.text("source", c.source, true);
    f.integer("time", c.time, kInt64Min, kInt64Max);
    f.text("interface", c.interface, true);
    f.names("capabilities", c.capabilities);
    f.integer("phc_index", c.phc_index, -1, kInt64Max);
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
    Reader f(record, TimestampProbe::kType);
    f.text("source", p.source, true);
    f.integer("time", p.time, kInt64Min, kInt64Max);
    f.integer("seq", p.seq, 0, kInt64Max);
    f.text("interface", p.interface, true);
    f.integer("user_tx", p.user_tx, kInt64Min, kInt64Max);
    f.integer("software_tx", p.software_tx);
    f.integer("hardware_tx", p.hardware_tx);
    f.integer("software_rx", p.software_rx);
    f.integer("hardware_rx", p.hardware_rx);
    f.integer("user_rx", p.user_rx);
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
