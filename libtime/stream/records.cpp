#include "libtime/stream/records.hpp"

#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "libtime/stream/record_fields.hpp"

namespace timepipe {
namespace {


}  // namespace

Record to_record(const Sample& s) {
    Record r = record_header(Sample::kType, s.source, s.time);
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
    Record r = record_header(Stats::kType, s.source, s.time);
    Record counters = Record::object();
    for (const auto& [name, n] : s.counters) counters[name] = n;
    r["counters"] = std::move(counters);
    return r;
}

Record to_record(const RoughtimeConflict& c) {
    Record r = record_header(RoughtimeConflict::kType, c.source, c.time);
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
    Record r = record_header(Adjust::kType, a.source, a.time);
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
    Record r = record_header(Tracking::kType, t.source, t.time);
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
    Record r = record_header(Refusal::kType, f.source, f.time);
    r["reason"] = f.reason;
    if (f.offset) r["offset"] = *f.offset;
    if (f.lower_bound) r["lower_bound"] = *f.lower_bound;
    if (f.upper_bound) r["upper_bound"] = *f.upper_bound;
    return r;
}

Record to_record(const ToolStatus& s) {
    Record r = record_header(ToolStatus::kType, s.source, s.time);
    r["pid"] = s.pid;
    r["started"] = s.started;
    r["version"] = s.version;
    if (s.instance) r["instance"] = *s.instance;
    return r;
}

Record to_record(const SourceState& s) {
    Record r = record_header(SourceState::kType, s.source, s.time);
    r["state"] = s.state;
    if (s.offset) r["offset"] = *s.offset;
    if (s.delay) r["delay"] = *s.delay;
    if (s.jitter) r["jitter"] = *s.jitter;
    if (s.reason) r["reason"] = *s.reason;
    return r;
}

Record to_record(const Applied& a) {
    Record r = record_header(Applied::kType, a.source, a.time);
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
    RecordFields f(record, Sample::kType);
    f.expect_type();
    f.text("source", s.source, true);
    f.integer("time", s.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
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
    RecordFields f(record, Stats::kType);
    f.expect_type();
    f.text("source", s.source, true);
    f.integer("time", s.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.counters("counters", s.counters);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    return s;
}

template <>
Result<RoughtimeConflict> from_record<RoughtimeConflict>(const Record& record) {
    RoughtimeConflict c;
    RecordFields f(record, RoughtimeConflict::kType);
    f.expect_type();
    f.text("source", c.source, true);
    f.integer("time", c.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.text("later_source", c.later_source, true);
    f.integer("earlier_midpoint", c.earlier_midpoint, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.number("earlier_radius", c.earlier_radius, 0);
    f.integer("later_midpoint", c.later_midpoint, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.number("later_radius", c.later_radius, 0);
    f.number("excess", c.excess, 0);
    f.integer("earlier_step", c.earlier_step, 0, RecordFields::kInt64Max);
    f.integer("later_step", c.later_step, 0, RecordFields::kInt64Max);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (c.excess <= 0) return fail("roughtime_conflict: \"excess\": not positive", EX_DATAERR);
    if (c.later_step <= c.earlier_step)
        return fail("roughtime_conflict: \"later_step\": not after \"earlier_step\"", EX_DATAERR);
    return c;
}

template <>
Result<Adjust> from_record<Adjust>(const Record& record) {
    Adjust a;
    RecordFields f(record, Adjust::kType);
    f.expect_type();
    f.text("source", a.source, true);
    f.integer("time", a.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
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
    RecordFields f(record, Tracking::kType);
    f.expect_type();
    f.text("source", t.source, true);
    f.integer("time", t.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
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
    f.integer("sources", t.sources, 0, RecordFields::kInt64Max);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (t.synchronised && (t.leap == 3 || t.stratum == 0 || t.stratum == 16))
        return fail("tracking: \"synchronised\": true with leap 3 or stratum 0 or 16", EX_DATAERR);
    return t;
}

template <>
Result<Refusal> from_record<Refusal>(const Record& record) {
    Refusal r;
    RecordFields f(record, Refusal::kType);
    f.expect_type();
    f.text("source", r.source, true);
    f.integer("time", r.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
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
    RecordFields f(record, Applied::kType);
    f.expect_type();
    f.text("source", a.source, true);
    f.integer("time", a.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
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

template <>
Result<ToolStatus> from_record<ToolStatus>(const Record& record) {
    ToolStatus s;
    RecordFields f(record, ToolStatus::kType);
    f.expect_type();
    f.text("source", s.source, true);
    f.integer("time", s.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.integer("pid", s.pid, 1, RecordFields::kInt64Max);
    f.integer("started", s.started, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.text("version", s.version, true);
    f.text("instance", s.instance, true);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    return s;
}

template <>
Result<SourceState> from_record<SourceState>(const Record& record) {
    SourceState s;
    RecordFields f(record, SourceState::kType);
    f.expect_type();
    f.text("source", s.source, true);
    f.integer("time", s.time, RecordFields::kInt64Min, RecordFields::kInt64Max);
    f.text("state", s.state, true);
    f.number("offset", s.offset);
    f.number("delay", s.delay, 0);
    f.number("jitter", s.jitter, 0);
    f.text("reason", s.reason, true);
    if (auto ok = f.result(); !ok) return Unexpected<Error>{ok.error()};
    if (s.state.size() != 1 || SourceState::kStates.find(s.state[0]) == std::string_view::npos)
        return fail("source_state: \"state\": \"" + s.state + "\" is not one of * + - x ~ ?", EX_DATAERR);
    return s;
}

}  // namespace timepipe
