#include "libtime/stream/gps_fix.hpp"

#include <cmath>
#include <limits>

namespace timepipe {
namespace {

// Reads the known keys of a gps_fix record, keeping the first fault ("gps_fix: \"hdop\": negative").
class Checker {
public:
    explicit Checker(const Record& r) : r_(r) {}

    const Record* find(const char* key, bool required) {
        if (err_) return nullptr;
        auto it = r_.find(key);
        if (it == r_.end()) {
            if (required) fail_with(std::string("missing \"") + key + "\"");
            return nullptr;
        }
        return &*it;
    }
    template <class Int>
    void integer(const char* key, Int& out, std::int64_t lo, std::int64_t hi, bool required = true) {
        const Record* v = find(key, required);
        if (!v) return;
        if (!v->is_number_integer()) return bad(key, "not an integer");
        if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(hi))
            return bad(key, "out of range");
        auto i = v->get<std::int64_t>();
        if (i < lo || i > hi) return bad(key, std::to_string(i) + " is not in " + std::to_string(lo) + ".." + std::to_string(hi));
        out = static_cast<Int>(i);
    }
    template <class Int>
    void integer(const char* key, std::optional<Int>& out, std::int64_t lo, std::int64_t hi) {
        if (!find(key, false)) return;
        integer(key, out.emplace(), lo, hi);
    }
    void number(const char* key, std::optional<double>& out, double lo, double hi) {
        const Record* v = find(key, false);
        if (!v) return;
        if (!v->is_number()) return bad(key, "not a number");
        double d = v->get<double>();
        if (!std::isfinite(d) || d < lo || d > hi) return bad(key, "out of range");
        out = d;
    }
    void text(const char* key, std::string& out, bool required = true) {
        const Record* v = find(key, required);
        if (!v) return;
        if (!v->is_string()) return bad(key, "not a text string");
        if (v->get_ref<const std::string&>().empty()) return bad(key, "empty");
        out = v->get<std::string>();
    }
    void text(const char* key, std::optional<std::string>& out) {
        if (!find(key, false)) return;
        text(key, out.emplace());
    }
    void boolean(const char* key, bool& out, bool required = true) {
        const Record* v = find(key, required);
        if (!v) return;
        if (!v->is_boolean()) return bad(key, "not a boolean");
        out = v->get<bool>();
    }
    void boolean(const char* key, std::optional<bool>& out) {
        if (!find(key, false)) return;
        boolean(key, out.emplace());
    }

    void fail_with(const std::string& why) {
        if (!err_) err_ = Error{"gps_fix: " + why, EX_DATAERR};
    }
    void bad(const char* key, const std::string& why) { fail_with("\"" + std::string(key) + "\": " + why); }
    const std::optional<Error>& error() const { return err_; }

private:
    const Record& r_;
    std::optional<Error> err_;
};

// "YYYY-MM-DDTHH:MM:SS.mmmZ", seconds up to 60.
bool utc_text(const std::string& s) {
    static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (s.size() != kShape.size()) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (kShape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != kShape[i]) return false;
    }
    auto num = [&](std::size_t at, std::size_t n) { return std::stoi(s.substr(at, n)); };
    int mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60;
}

}  // namespace

Record to_record(const GpsFix& f) {
    Record r = Record::object();
    r["v"] = kStreamVersion;
    r["type"] = GpsFix::kType;
    r["source"] = f.source;
    r["time"] = f.time;
    r["talker"] = f.talker;
    r["valid"] = f.valid;
    if (f.utc) r["utc"] = *f.utc;
    if (f.leap_second) r["leap_second"] = *f.leap_second;
    if (f.rollover_weeks) r["rollover_weeks"] = *f.rollover_weeks;
    if (f.lock) r["lock"] = *f.lock;
    if (f.quality) r["quality"] = *f.quality;
    if (f.status) r["status"] = *f.status;
    if (f.mode) r["mode"] = *f.mode;
    if (f.satellites) r["satellites"] = *f.satellites;
    if (f.hdop) r["hdop"] = *f.hdop;
    if (f.latitude) r["latitude"] = *f.latitude;
    if (f.longitude) r["longitude"] = *f.longitude;
    if (f.altitude) r["altitude"] = *f.altitude;
    if (f.reason) r["reason"] = *f.reason;
    return r;
}

template <>
Result<GpsFix> from_record<GpsFix>(const Record& record) {
    GpsFix f;
    Checker c(record);
    if (record_type(record) != GpsFix::kType)
        c.fail_with("not a gps_fix record (type \"" + std::string(record_type(record)) + "\")");
    constexpr double kInf = std::numeric_limits<double>::infinity();
    constexpr auto kMin = std::numeric_limits<std::int64_t>::min(), kMax = std::numeric_limits<std::int64_t>::max();
    c.text("source", f.source);
    c.integer("time", f.time, kMin, kMax);
    c.text("talker", f.talker);
    c.boolean("valid", f.valid);
    c.text("utc", f.utc);
    c.boolean("leap_second", f.leap_second);
    c.integer("rollover_weeks", f.rollover_weeks, 1024, 1024 * 64);
    c.integer("lock", f.lock, 0, std::numeric_limits<int>::max());
    c.integer("quality", f.quality, 0, 8);
    c.text("status", f.status);
    c.text("mode", f.mode);
    c.integer("satellites", f.satellites, 0, 99);
    c.number("hdop", f.hdop, 0, kInf);
    c.number("latitude", f.latitude, -90, 90);
    c.number("longitude", f.longitude, -180, 180);
    c.number("altitude", f.altitude, -kInf, kInf);
    c.text("reason", f.reason);
    if (c.error()) return Unexpected<Error>{*c.error()};
    if (f.talker.size() != 2) return fail("gps_fix: \"talker\": not two characters", EX_DATAERR);
    if (f.utc && !utc_text(*f.utc)) return fail("gps_fix: \"utc\": not YYYY-MM-DDTHH:MM:SS.mmmZ", EX_DATAERR);
    if (f.status && *f.status != "A" && *f.status != "V") return fail("gps_fix: \"status\": not A or V", EX_DATAERR);
    if (f.rollover_weeks && *f.rollover_weeks % 1024 != 0)
        return fail("gps_fix: \"rollover_weeks\": not a multiple of 1024", EX_DATAERR);
    if (f.valid == f.reason.has_value())
        return fail(f.valid ? "gps_fix: \"reason\" with \"valid\": true" : "gps_fix: \"valid\": false without \"reason\"",
                    EX_DATAERR);
    if (f.valid && !f.utc) return fail("gps_fix: \"valid\": true without \"utc\"", EX_DATAERR);
    if (f.leap_second.value_or(false) && (!f.utc || f.utc->substr(11, 8) != "23:59:60"))
        return fail("gps_fix: \"leap_second\": true but \"utc\" is not 23:59:60", EX_DATAERR);
    return f;
}

}  // namespace timepipe
