#include "libtime/stream/records.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace timepipe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Reads the known keys of one record; remembers the first fault so from_record reads like a
// list of fields.
class Fields {
    static constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

public:
    Fields(const Record& r, std::string_view type) : r_(r), type_(type) {}

    template <class Int>
    void integer(const char* key, Int& out, std::int64_t lo, std::int64_t hi) {
        if (const Record* v = find(key, true)) read_int(key, *v, out, lo, hi);
    }
    template <class Int>
    void integer(const char* key, std::optional<Int>& out, std::int64_t lo, std::int64_t hi) {
        if (const Record* v = find(key, false)) read_int(key, *v, out.emplace(), lo, hi);
    }
    void number(const char* key, double& out, double lo = -kInf) {
        if (const Record* v = find(key, true)) read_number(key, *v, out, lo);
    }
    void number(const char* key, std::optional<double>& out, double lo = -kInf) {
        if (const Record* v = find(key, false)) read_number(key, *v, out.emplace(), lo);
    }
    // A number in [lo, hi]: the fields a clock applies (adjust, applied) have hard limits.
    void bounded(const char* key, std::optional<double>& out, double lo, double hi) {
        if (const Record* v = find(key, false)) read_bounded(key, *v, out.emplace(), lo, hi);
    }
    void text(const char* key, std::string& out, bool nonempty) {
        if (const Record* v = find(key, true)) read_text(key, *v, out, nonempty);
    }
    void text(const char* key, std::optional<std::string>& out, bool nonempty) {
        if (const Record* v = find(key, false)) read_text(key, *v, out.emplace(), nonempty);
    }
    void boolean(const char* key, bool& out) {
        const Record* v = find(key, true);
        if (!v) return;
        if (!v->is_boolean()) return bad(key, "not a boolean");
        out = v->get<bool>();
    }
    void boolean(const char* key, std::optional<bool>& out) {
        const Record* v = find(key, false);
        if (!v) return;
        if (!v->is_boolean()) return bad(key, "not a boolean");
        out = v->get<bool>();
    }
    void counters(const char* key, std::map<std::string, std::uint64_t>& out) {
        const Record* v = find(key, true);
        if (!v) return;
        if (!v->is_object()) return bad(key, "not a map");
        for (const auto& item : v->items()) {
            if (!item.value().is_number_unsigned() &&
                !(item.value().is_number_integer() && item.value().get<std::int64_t>() >= 0))
                return bad(key, "counter \"" + item.key() + "\" is not an unsigned integer");
            out[item.key()] = item.value().get<std::uint64_t>();
        }
    }

    Result<void> result() const {
        if (err_) return Unexpected<Error>{*err_};
        return {};
    }

    // Refuses a record of another type before any field is read.
    void expect_type() {
        auto t = record_type(r_);
        if (t != type_) fail_with("not a " + std::string(type_) + " record (type \"" + std::string(t) + "\")");
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
    void bad(const char* key, const std::string& why) {
        fail_with("\"" + std::string(key) + "\": " + why);
    }

    template <class Int>
    void read_int(const char* key, const Record& v, Int& out, std::int64_t lo, std::int64_t hi) {
        if (!v.is_number_integer()) return bad(key, "not an integer");
        std::string range = std::to_string(lo) + ".." + std::to_string(hi);
        std::int64_t i;
        if (v.is_number_unsigned()) {
            auto u = v.get<std::uint64_t>();
            if (u > static_cast<std::uint64_t>(kMax)) return bad(key, std::to_string(u) + " is not in " + range);
            i = static_cast<std::int64_t>(u);
        } else {
            i = v.get<std::int64_t>();
        }
        if (i < lo || i > hi) return bad(key, std::to_string(i) + " is not in " + range);
        out = static_cast<Int>(i);
    }
    void read_number(const char* key, const Record& v, double& out, double lo) {
        if (!v.is_number()) return bad(key, "not a number");
        double d = v.get<double>();
        if (!std::isfinite(d)) return bad(key, "not a finite number");
        if (d < lo) return bad(key, "negative");
        out = d;
    }
    void read_bounded(const char* key, const Record& v, double& out, double lo, double hi) {
        read_number(key, v, out, -kInf);
        if (err_) return;
        if (out < lo || out > hi) {
            char why[96];
            std::snprintf(why, sizeof why, "%.9g is not in %g..%g", out, lo, hi);
            bad(key, why);
        }
    }
    void read_text(const char* key, const Record& v, std::string& out, bool nonempty) {
        if (!v.is_string()) return bad(key, "not a text string");
        if (nonempty && v.get_ref<const std::string&>().empty()) return bad(key, "empty");
        out = v.get<std::string>();
    }

    const Record& r_;
    std::string_view type_;
    std::optional<Error> err_;
};

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

Record header(std::string_view type, const std::string& source, UnixNanos time) {
    Record r = Record::object();
    r["v"] = kStreamVersion;
    r["type"] = type;
    r["source"] = source;
    r["time"] = time;
    return r;
}

}  // namespace

Record to_record(const Sample& s) {
    Record r = header(Sample::kType, s.source, s.time);
    r["offset"] = s.offset;
    r["delay"] = s.delay;
    r["dispersion"] = s.dispersion;
    r["stratum"] = s.stratum;
    r["leap"] = s.leap;
    r["refid"] = s.refid;
    r["poll"] = s.poll;
    if (s.root_delay) r["root_delay"] = *s.root_delay;
    if (s.root_dispersion) r["root_dispersion"] = *s.root_dispersion;
    if (s.jitter) r["jitter"] = *s.jitter;
    if (s.reach) r["reach"] = *s.reach;
    if (s.precision) r["precision"] = *s.precision;
    if (s.version) r["version"] = *s.version;
    if (s.interleaved) r["interleaved"] = *s.interleaved;
    if (s.kod) r["kod"] = *s.kod;
    if (s.verified) r["verified"] = *s.verified;
    if (s.conflict) r["conflict"] = *s.conflict;
    if (s.auth) r["auth"] = *s.auth;
    return r;
}

Record to_record(const Stats& s) {
    Record r = header(Stats::kType, s.source, s.time);
    Record counters = Record::object();
    for (const auto& [name, n] : s.counters) counters[name] = n;
    r["counters"] = std::move(counters);
    return r;
}

Record to_record(const RoughtimeConflict& c) {
    Record r = header(RoughtimeConflict::kType, c.source, c.time);
    r["later_source"] = c.later_source;
    r["earlier_midpoint"] = c.earlier_midpoint;
    r["earlier_radius"] = c.earlier_radius;
    r["later_midpoint"] = c.later_midpoint;
    r["later_radius"] = c.later_radius;
    r["excess"] = c.excess;
    r["earlier_step"] = c.earlier_step;
    r["later_step"] = c.later_step;
    return r;
}

Record to_record(const Adjust& a) {
    Record r = header(Adjust::kType, a.source, a.time);
    if (a.frequency) r["frequency"] = *a.frequency;
    if (a.slew) r["slew"] = *a.slew;
    if (a.slew_duration) r["slew_duration"] = *a.slew_duration;
    if (a.step) r["step"] = *a.step;
    if (a.reason) r["reason"] = *a.reason;
    if (a.leap) r["leap"] = *a.leap;
    if (a.poll) r["poll"] = *a.poll;
    return r;
}

Record to_record(const Tracking& t) {
    Record r = header(Tracking::kType, t.source, t.time);
    r["stratum"] = t.stratum;
    r["refid"] = t.refid;
    r["root_delay"] = t.root_delay;
    r["root_dispersion"] = t.root_dispersion;
    r["offset"] = t.offset;
    r["frequency"] = t.frequency;
    r["skew"] = t.skew;
    r["leap"] = t.leap;
    r["synchronised"] = t.synchronised;
    if (t.poll) r["poll"] = *t.poll;
    if (t.rms_offset) r["rms_offset"] = *t.rms_offset;
    if (t.sources) r["sources"] = *t.sources;
    return r;
}

Record to_record(const Refusal& f) {
    Record r = header(Refusal::kType, f.source, f.time);
    r["reason"] = f.reason;
    if (f.offset) r["offset"] = *f.offset;
    if (f.lower_bound) r["lower_bound"] = *f.lower_bound;
    if (f.upper_bound) r["upper_bound"] = *f.upper_bound;
    return r;
}

Record to_record(const Applied& a) {
    Record r = header(Applied::kType, a.source, a.time);
    r["dry_run"] = a.dry_run;
    if (a.frequency) r["frequency"] = *a.frequency;
    if (a.slew) r["slew"] = *a.slew;
    if (a.slew_duration) r["slew_duration"] = *a.slew_duration;
    if (a.step) r["step"] = *a.step;
    if (a.leap) r["leap"] = *a.leap;
    if (a.interference) r["interference"] = *a.interference;
    return r;
}

template <>
Result<Sample> from_record<Sample>(const Record& record) {
    Sample s;
    Fields f(record, Sample::kType);
    f.expect_type();
    f.text("source", s.source, true);
    f.integer("time", s.time, kInt64Min, kInt64Max);
    f.number("offset", s.offset);
    f.number("delay", s.delay);
    f.number("dispersion", s.dispersion, 0);
    f.integer("stratum", s.stratum, 0, 255);
    f.integer("leap", s.leap, 0, 3);
    f.text("refid", s.refid, false);
    f.integer("poll", s.poll, -128, 127);
    f.number("root_delay", s.root_delay, 0);
    f.number("root_dispersion", s.root_dispersion, 0);
    f.number("jitter", s.jitter, 0);
    f.integer("reach", s.reach, 0, 255);
    f.integer("precision", s.precision, -128, 127);
    f.integer("version", s.version, 1, 7);
    f.boolean("interleaved", s.interleaved);
    f.text("kod", s.kod, true);
    f.boolean("verified", s.verified);
    f.boolean("conflict", s.conflict);
    f.text("auth", s.auth, true);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (s.conflict.value_or(false) && s.verified.value_or(false))
        return fail("sample: \"verified\": true for a sample in a conflict", EX_DATAERR);
    return s;
}

template <>
Result<Stats> from_record<Stats>(const Record& record) {
    Stats s;
    Fields f(record, Stats::kType);
    f.expect_type();
    f.text("source", s.source, true);
    f.integer("time", s.time, kInt64Min, kInt64Max);
    f.counters("counters", s.counters);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    return s;
}

template <>
Result<RoughtimeConflict> from_record<RoughtimeConflict>(const Record& record) {
    RoughtimeConflict c;
    Fields f(record, RoughtimeConflict::kType);
    f.expect_type();
    f.text("source", c.source, true);
    f.integer("time", c.time, kInt64Min, kInt64Max);
    f.text("later_source", c.later_source, true);
    f.integer("earlier_midpoint", c.earlier_midpoint, kInt64Min, kInt64Max);
    f.number("earlier_radius", c.earlier_radius, 0);
    f.integer("later_midpoint", c.later_midpoint, kInt64Min, kInt64Max);
    f.number("later_radius", c.later_radius, 0);
    f.number("excess", c.excess, 0);
    f.integer("earlier_step", c.earlier_step, 0, kInt64Max);
    f.integer("later_step", c.later_step, 0, kInt64Max);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (c.excess <= 0) return fail("roughtime_conflict: \"excess\": not positive", EX_DATAERR);
    if (c.later_step <= c.earlier_step)
        return fail("roughtime_conflict: \"later_step\": not after \"earlier_step\"", EX_DATAERR);
    return c;
}

template <>
Result<Adjust> from_record<Adjust>(const Record& record) {
    Adjust a;
    Fields f(record, Adjust::kType);
    f.expect_type();
    f.text("source", a.source, true);
    f.integer("time", a.time, kInt64Min, kInt64Max);
    f.bounded("frequency", a.frequency, -Adjust::kMaxFrequencyPpm, Adjust::kMaxFrequencyPpm);
    f.bounded("slew", a.slew, -Adjust::kMaxSlewSeconds, Adjust::kMaxSlewSeconds);
    f.bounded("slew_duration", a.slew_duration, 0, Adjust::kMaxSlewDuration);
    f.bounded("step", a.step, -Adjust::kMaxStepSeconds, Adjust::kMaxStepSeconds);
    f.text("reason", a.reason, true);
    f.integer("leap", a.leap, 0, 2);
    f.integer("poll", a.poll, -128, 127);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (a.slew_duration && *a.slew_duration <= 0)
        return fail("adjust: \"slew_duration\": not positive", EX_DATAERR);
    if (a.slew_duration && !a.slew)
        return fail("adjust: \"slew_duration\" without \"slew\"", EX_DATAERR);
    if (a.step && !a.reason) return fail("adjust: \"step\" without \"reason\"", EX_DATAERR);
    return a;
}

template <>
Result<Tracking> from_record<Tracking>(const Record& record) {
    Tracking t;
    Fields f(record, Tracking::kType);
    f.expect_type();
    f.text("source", t.source, true);
    f.integer("time", t.time, kInt64Min, kInt64Max);
    f.integer("stratum", t.stratum, 0, 16);
    f.text("refid", t.refid, false);
    f.number("root_delay", t.root_delay, 0);
    f.number("root_dispersion", t.root_dispersion, 0);
    f.number("offset", t.offset);
    f.number("frequency", t.frequency);
    f.number("skew", t.skew, 0);
    f.integer("leap", t.leap, 0, 3);
    f.boolean("synchronised", t.synchronised);
    f.integer("poll", t.poll, -128, 127);
    f.number("rms_offset", t.rms_offset, 0);
    f.integer("sources", t.sources, 0, kInt64Max);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (t.synchronised && (t.leap == 3 || t.stratum == 0 || t.stratum == 16))
        return fail("tracking: \"synchronised\": true with leap 3 or stratum 0 or 16", EX_DATAERR);
    return t;
}

template <>
Result<Refusal> from_record<Refusal>(const Record& record) {
    Refusal r;
    Fields f(record, Refusal::kType);
    f.expect_type();
    f.text("source", r.source, true);
    f.integer("time", r.time, kInt64Min, kInt64Max);
    f.text("reason", r.reason, true);
    f.number("offset", r.offset);
    f.number("lower_bound", r.lower_bound);
    f.number("upper_bound", r.upper_bound);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (r.lower_bound && r.upper_bound && *r.lower_bound > *r.upper_bound)
        return fail("refusal: \"lower_bound\": above \"upper_bound\"", EX_DATAERR);
    return r;
}

template <>
Result<Applied> from_record<Applied>(const Record& record) {
    Applied a;
    Fields f(record, Applied::kType);
    f.expect_type();
    f.text("source", a.source, true);
    f.integer("time", a.time, kInt64Min, kInt64Max);
    f.boolean("dry_run", a.dry_run);
    f.bounded("frequency", a.frequency, -Adjust::kMaxFrequencyPpm, Adjust::kMaxFrequencyPpm);
    f.bounded("slew", a.slew, -Adjust::kMaxSlewSeconds, Adjust::kMaxSlewSeconds);
    f.bounded("slew_duration", a.slew_duration, 0, Applied::kMaxSlewDuration);
    f.bounded("step", a.step, -Adjust::kMaxStepSeconds, Adjust::kMaxStepSeconds);
    f.integer("leap", a.leap, 0, 2);
    f.boolean("interference", a.interference);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    return a;
}

}  // namespace timepipe
