#include "libtime/stream/gps_fix.hpp"

#include <cmath>
#include <limits>

#include "libtime/stream/record_fields.hpp"

namespace timepipe {
namespace {

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
    Record r = record_header(GpsFix::kType, f.source, f.time);
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
    RecordFields c(record, GpsFix::kType);
    c.expect_type();
    constexpr double kInf = RecordFields::kInf;
    c.text("source", f.source, true);
    c.integer("time", f.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    c.text("talker", f.talker, true);
    c.boolean("valid", f.valid);
    c.text("utc", f.utc, true);
    c.boolean("leap_second", f.leap_second);
    c.integer("rollover_weeks", f.rollover_weeks, 1024, 1024 * 64);
    c.integer("lock", f.lock, 0, std::numeric_limits<int>::max());
    c.integer("quality", f.quality, 0, 8);
    c.text("status", f.status, true);
    c.text("mode", f.mode, true);
    c.integer("satellites", f.satellites, 0, 99);
    c.number("hdop", f.hdop, 0);
    c.bounded("latitude", f.latitude, -90, 90);
    c.bounded("longitude", f.longitude, -180, 180);
    c.number("altitude", f.altitude, -kInf);
    c.text("reason", f.reason, true);
    if (auto ok = c.result(); !ok) return Unexpected<Error>{ok.error()};
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
