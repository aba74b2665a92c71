#include "libtime/discipline/discipline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string_view>

#include "libtime/ntp/constants.hpp"
#include "libtime/ntp/select.hpp"
#include "libtime/server/upstream_reference.hpp"

namespace timepipe::discipline {

namespace {

constexpr std::size_t kDelayHistory = 16;  // delays kept per source for its minimum
constexpr std::size_t kMaxSources = 64;    // the one heard from least recently goes
constexpr std::size_t kMaxBounds = 64;
constexpr std::size_t kMaxBad = 1024;

// Drops the entry of `m` whose time(value) is oldest, never `keep`.
template <class Map, class Time>
void drop_oldest(Map& m, const std::string& keep, Time time) {
    auto oldest = m.end();
    for (auto it = m.begin(); it != m.end(); ++it)
        if (it->first != keep && (oldest == m.end() || time(it->second) < time(oldest->second))) oldest = it;
    if (oldest != m.end()) m.erase(oldest);
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool finite(double x) { return std::isfinite(x); }

std::string format_seconds(double s) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", s);
    return buf;
}

// Why an NTP-like source may not steer by this sample ("" : it may): a KoD, unsynchronised,
// insane numbers.
std::string unusable_because(const Sample& s) {
    if (s.kod) return "kiss-o'-death " + *s.kod;
    if (s.leap == 3) return "unsynchronised (leap 3)";
    if (s.stratum >= 15) return "stratum " + std::to_string(s.stratum);  // we would serve 16
    if (s.verified && !*s.verified) return "not verified";
    if (s.stratum == 0 && (starts_with(s.source, "ntp://") || starts_with(s.source, "nts://"))) return "stratum 0";
    if (!finite(s.offset)) return "offset not finite";
    // Delays and dispersions within MAXDISP (RFC 5905: 16 s): beyond, a source is useless, and
    // enormous finite values overflow the filter's and the root distance's sums (fuzz_discipline).
    auto sane = [](double x) { return finite(x) && x >= 0 && x <= ntp::kMaxDispersion; };
    if (!sane(s.delay) || !sane(s.dispersion)) return "delay or dispersion beyond 16 s";
    if (s.root_delay && !sane(*s.root_delay)) return "root delay beyond 16 s";
    if (s.root_dispersion && !sane(*s.root_dispersion)) return "root dispersion beyond 16 s";
    return "";
}

std::optional<double> finite_or_none(double x) { return finite(x) ? std::optional<double>(x) : std::nullopt; }

// A Roughtime bound's delay or radius: finite, not negative, at most a day (a wider bound says
// nothing, and sums of enormous ones would overflow).
bool sane_bound_part(double x) { return finite(x) && x >= 0 && x <= 86400; }

// How long a source's newest sample stays usable: 8 of its poll intervals, at least 16 s.
double stale_after(const Sample& s) {
    int poll = std::clamp(s.poll, 0, 17);
    return std::max(16.0, 8.0 * std::ldexp(1.0, poll));
}

}  // namespace

std::string refid_text(const Sample& s) {
    if (s.stratum == 0 && !s.refid.empty() && s.refid.size() <= 4 &&
        std::all_of(s.refid.begin(), s.refid.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
        return s.refid;
    auto id = reference_id(s);
    if (!id) return "";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", (*id >> 24) & 0xff, (*id >> 16) & 0xff, (*id >> 8) & 0xff,
                  *id & 0xff);
    return buf;
}

Discipline::Discipline(const DisciplineConfig& config) : config_(config), loop_(config.loop, config.frequency) {}

void Discipline::mark(const std::string& name, UnixNanos t, char state, std::optional<double> offset,
                      std::optional<double> delay, std::optional<double> jitter, std::string reason) {
    SourceState st;
    st.source = name;
    st.time = t;
    st.state = std::string(1, state);
    st.offset = offset;
    st.delay = delay;
    if (jitter) st.jitter = std::max(0.0, *jitter);
    if (!reason.empty()) st.reason = std::move(reason);
    states_[name] = std::move(st);
    // Sources heard once and unusable since are forgotten, oldest first, beyond twice kMaxSources.
    if (states_.size() > 2 * kMaxSources) drop_oldest(states_, name, [](const SourceState& x) { return x.time; });
}

std::vector<SourceState> Discipline::source_states() const {
    std::vector<SourceState> out;
    for (const auto& [name, st] : states_) {
        if (!sources_.count(name) && st.state != "?") continue;  // dropped as the oldest source
        out.push_back(st);
        if (synchronised_ && name == peer_ && st.state == "+") out.back().state = "*";
    }
    return out;
}

Adjust Discipline::empty_adjust(UnixNanos t) const {
    Adjust a;
    a.source = peer_.empty() || !synchronised_ ? "local" : peer_;
    a.time = t;
    a.poll = loop_.poll();
    return a;
}

Record Discipline::tracking_record(UnixNanos t, bool synchronised) const {
    Tracking tr;
    tr.time = t;
    tr.frequency = loop_.frequency();
    tr.skew = loop_.skew();
    tr.poll = loop_.poll();
    tr.rms_offset = rms_;
    if (synchronised) {
        tr.source = peer_;
        tr.stratum = std::min(peer_stratum_ + 1, 16);
        tr.refid = peer_refid_;
        tr.root_delay = root_delay_;
        tr.root_dispersion = root_dispersion_;
        tr.offset = last_offset_;
        tr.leap = leap_;
        tr.synchronised = true;
        tr.sources = survivors_;
    } else {
        tr.source = "local";
        tr.stratum = 16;
        tr.leap = 3;
        tr.synchronised = false;
        tr.sources = 0;
    }
    return to_record(tr);
}

void Discipline::check_holdover(UnixNanos t, Output& out) {
    if (!synchronised_) return;
    if (nanos_to_seconds(t - last_update_) <= config_.holdover) return;
    synchronised_ = false;
    out.records.push_back(tracking_record(t, false));
}

int Discipline::pending_leap(UnixNanos t, const std::vector<std::string>& survivors) const {
    if (config_.leap_table && !leap_file_expired(*config_.leap_table, t))
        return leap_on_day(*config_.leap_table, t);
    if (!last_day_of_month(t) || survivors.empty()) return 0;
    std::size_t ins = 0, del = 0;
    for (const auto& name : survivors) {
        int leap = sources_.at(name).last.leap;
        if (leap == 1) ++ins;
        if (leap == 2) ++del;
    }
    if (2 * ins > survivors.size()) return 1;
    if (2 * del > survivors.size()) return 2;
    return 0;
}

Result<Output> Discipline::on_record(const Record& record) {
    auto type = record_type(record);
    if (type == Sample::kType) {
        auto s = from_record<Sample>(record);
        if (!s) return Unexpected<Error>{s.error()};
        return on_sample(*s);
    }
    if (type == RoughtimeConflict::kType) {
        auto c = from_record<RoughtimeConflict>(record);
        if (!c) return Unexpected<Error>{c.error()};
        return on_conflict(*c);
    }
    if (record.is_object() && record.contains("time") && record["time"].is_number_integer()) {
        Output out;
        auto t = record["time"].get<std::int64_t>();
        last_time_ = std::max(last_time_, t);
        check_holdover(t, out);
        return out;
    }
    return Output{};
}

Output Discipline::on_conflict(const RoughtimeConflict& c) {
    if (bad_roughtime_.size() + 2 <= kMaxBad) {  // beyond that many proven liars, forget none
        bad_roughtime_[c.source] = true;
        bad_roughtime_[c.later_source] = true;
    }
    bounds_.erase(c.source);
    bounds_.erase(c.later_source);
    last_time_ = std::max(last_time_, c.time);
    return {};
}

Output Discipline::on_sample(const Sample& s) {
    Output out;
    const UnixNanos t = s.time;
    last_time_ = std::max(last_time_, t);
    auto finish = [&](Adjust a) {
        out.records.push_back(to_record(a));
        return std::move(out);
    };

    if (starts_with(s.source, "roughtime://")) {
        bool good = s.verified && *s.verified && !(s.conflict && *s.conflict) && !bad_roughtime_.count(s.source) &&
                    finite(s.offset) && sane_bound_part(s.delay) && sane_bound_part(s.dispersion) &&
                    (!s.root_dispersion || sane_bound_part(*s.root_dispersion));
        if (good) {
            double half = s.root_dispersion.value_or(0) + s.dispersion + s.delay / 2;
            bounds_[s.source] = Bound{t, s.offset, std::max(0.0, half), loop_.correction_at(t)};
            if (bounds_.size() > kMaxBounds) drop_oldest(bounds_, s.source, [](const Bound& b) { return b.time; });
        } else {
            bounds_.erase(s.source);
        }
        check_holdover(t, out);
        return finish(empty_adjust(t));
    }

    if (auto why = unusable_because(s); !why.empty()) {
        mark(s.source, t, '?', finite_or_none(s.offset), finite_or_none(s.delay), std::nullopt, why);
        check_holdover(t, out);
        return finish(empty_adjust(t));
    }

    if (!sources_.count(s.source) && sources_.size() >= kMaxSources)
        drop_oldest(sources_, peer_, [](const Source& x) { return x.last.time; });
    Source& src = sources_[s.source];
    src.last = s;
    // The filter holds offsets plus the phase corrections (slews, steps) the loop has made since
    // it started, so that an older stage stays comparable after a correction; not the
    // frequency's part: that one cancels the clock's own drift, so adding it would put back
    // the free-running drift (tens of ppm) into every older stage.
    const double phase_now = loop_.phase_correction_at(t);
    src.filter.add({s.offset + phase_now, s.delay, s.dispersion, t});
    src.delays.push_back(s.delay);
    if (src.delays.size() > kDelayHistory) src.delays.erase(src.delays.begin());

    // Candidates: every source with a fresh enough sample and a filter estimate.
    std::vector<ntp::SelectCandidate> candidates;
    std::vector<std::string> names;
    for (const auto& [name, source] : sources_) {
        const auto& est = source.filter.estimate();
        if (!est) {
            mark(name, source.last.time, '?', source.last.offset, source.last.delay, std::nullopt,
                 "no filtered sample yet");
            continue;
        }
        double age = nanos_to_seconds(t - source.last.time);
        if (age > stale_after(source.last) || age < -stale_after(source.last)) {
            mark(name, source.last.time, '?', source.last.offset, source.last.delay, std::nullopt,
                 "stale: no sample for " + format_seconds(std::fabs(age)) + " s");
            continue;
        }
        if (est->jitter > config_.max_jitter) {  // chrony's maxjitter: too variable to select
            mark(name, source.last.time, '~', est->offset - phase_now, est->delay, est->jitter,
                 "jitter " + format_seconds(est->jitter) + " s beyond --max-jitter " +
                     format_seconds(config_.max_jitter) + " s");
            continue;
        }
        ntp::SelectCandidate c;
        c.offset = est->offset - phase_now;
        c.delay = est->delay;
        // The chosen sample's own dispersion, aged: the filter's peer dispersion counts its empty
        // stages at MAXDISP, which would keep a new source unfit for its first several samples.
        double disp = source.last.dispersion;
        for (const auto& stage : source.filter.stages())
            if (stage.time == est->time) disp = stage.dispersion;
        c.dispersion = disp + ntp::kPhi * std::fabs(nanos_to_seconds(t - est->time));
        c.jitter = est->jitter;
        c.root_delay = source.last.root_delay.value_or(0);
        c.root_dispersion = source.last.root_dispersion.value_or(0);
        c.stratum = std::max(1, source.last.stratum);
        candidates.push_back(c);
        names.push_back(name);
    }

    auto mark_all = [&](char state, const std::string& why) {
        for (std::size_t i = 0; i < candidates.size(); ++i)
            mark(names[i], sources_.at(names[i]).last.time, state, candidates[i].offset, candidates[i].delay,
                 candidates[i].jitter, why);
    };
    if (candidates.size() < config_.min_sources) {
        Refusal r;
        r.source = "discipline";
        r.time = t;
        r.reason = std::to_string(candidates.size()) + " usable source" + (candidates.size() == 1 ? "" : "s") +
                   ", fewer than --min-sources " + std::to_string(config_.min_sources);
        mark_all('?', r.reason);
        out.records.push_back(to_record(r));
        check_holdover(t, out);
        return finish(empty_adjust(t));
    }
    ntp::SelectConfig sc;
    sc.max_distance = config_.max_distance;
    auto sel = ntp::select_sources(candidates, sc);
    if (!sel) {
        Refusal r;
        r.source = "discipline";
        r.time = t;
        r.reason = std::string(ntp::to_string(sel.error()));
        mark_all(sel.error() == ntp::SelectError::NoMajority ? 'x' : '?', r.reason);
        out.records.push_back(to_record(r));
        check_holdover(t, out);
        return finish(empty_adjust(t));
    }
    mark_all('x', "falseticker: outside the intersection of the majority");
    for (std::size_t i = 0; i < candidates.size(); ++i) {   // unfit ones took no part (fit())
        const double distance = ntp::root_distance(candidates[i]);
        if (!(distance <= sc.max_distance))
            mark(names[i], sources_.at(names[i]).last.time, '?', candidates[i].offset, candidates[i].delay,
                 candidates[i].jitter, "root distance " + format_seconds(distance) + " s beyond " +
                 format_seconds(sc.max_distance) + " s");
        else if (candidates[i].stratum > sc.max_stratum)
            mark(names[i], sources_.at(names[i]).last.time, '?', candidates[i].offset, candidates[i].delay,
                 candidates[i].jitter, "stratum " + std::to_string(candidates[i].stratum));
    }
    for (auto i : sel->truechimers)
        mark(names[i], sources_.at(names[i]).last.time, '-', candidates[i].offset, candidates[i].delay,
             candidates[i].jitter);
    for (auto i : sel->survivors)   // '*' for the system peer once the update is done (source_states)
        mark(names[i], sources_.at(names[i]).last.time, '+', candidates[i].offset, candidates[i].delay,
             candidates[i].jitter);
    std::vector<std::string> survivors;
    bool peer_survives = false, sample_survives = false;
    for (auto i : sel->survivors) {
        survivors.push_back(names[i]);
        if (names[i] == peer_) peer_survives = true;
        if (names[i] == s.source) sample_survives = true;
    }
    if (!sample_survives) {  // a falseticker, or an outlier the cluster algorithm trimmed
        check_holdover(t, out);
        return finish(empty_adjust(t));
    }
    std::string peer = peer_survives ? peer_ : names[sel->system_peer];

    // The combined estimate: the survivors' filtered offsets weighted by 1 / root distance.
    double sum_w = 0, sum = 0;
    for (auto i : sel->survivors) {
        double w = 1.0 / std::max(1e-9, ntp::root_distance(candidates[i]));
        sum_w += w;
        sum += w * candidates[i].offset;
    }
    double combined = sum / sum_w;

    if (bounds_.size() < config_.min_bounds) {
        Refusal r;
        r.source = peer;
        r.time = t;
        r.reason = std::to_string(bounds_.size()) + " verified Roughtime bound" + (bounds_.size() == 1 ? "" : "s") +
                   ", fewer than --min-bounds " + std::to_string(config_.min_bounds);
        r.offset = combined;
        out.records.push_back(to_record(r));
        check_holdover(t, out);
        return finish(empty_adjust(t));
    }

    // Time constraints: every verified Roughtime interval, aged and moved by what the loop did
    // since, must hold the combined estimate.
    if (!bounds_.empty()) {
        // A bound moves with everything the loop did since (its frequency too: the clock did
        // move by it); the clock's own drift is what max_drift widens it by.
        const double c_now = loop_.correction_at(t);
        double lo = -INFINITY, hi = INFINITY;
        std::string lo_name, hi_name;
        for (const auto& [name, b] : bounds_) {
            double age = std::fabs(nanos_to_seconds(t - b.time));
            double w = b.half_width + age * config_.max_drift;
            double center = b.offset - (c_now - b.correction);
            if (center - w > lo) { lo = center - w; lo_name = name; }
            if (center + w < hi) { hi = center + w; hi_name = name; }
        }
        std::string reason;
        if (lo > hi) reason = "verified Roughtime bounds of " + lo_name + " and " + hi_name + " disagree";
        else if (combined < lo) reason = "offset " + format_seconds(combined) + " s below " + lo_name + "'s bound";
        else if (combined > hi) reason = "offset " + format_seconds(combined) + " s above " + hi_name + "'s bound";
        if (!reason.empty()) {
            Refusal r;
            r.source = peer;
            r.time = t;
            r.reason = reason;
            r.offset = combined;
            if (lo <= hi) {  // disagreeing bounds allow no interval
                r.lower_bound = lo;
                r.upper_bound = hi;
            }
            out.records.push_back(to_record(r));
            check_holdover(t, out);
            return finish(empty_adjust(t));
        }
    }

    double min_delay = *std::min_element(src.delays.begin(), src.delays.end());
    double error = std::max(0.0, s.delay - min_delay) / 2;
    LoopResult r = loop_.update(t, s.offset, error, s.poll);
    if (r.panic) {
        Refusal rf;
        rf.source = s.source;
        rf.time = t;
        rf.reason = "offset " + format_seconds(r.offset) + " s beyond --panic " + format_seconds(config_.loop.panic) + " s";
        rf.offset = r.offset;
        out.records.push_back(to_record(rf));
        out.fatal = true;
        out.fatal_line = "panic: the clock is " + format_seconds(-r.offset) + " s off (" + s.source +
                         "), beyond --panic " + format_seconds(config_.loop.panic) + " s; not corrected";
        return finish(empty_adjust(t));
    }

    peer_ = peer;
    synchronised_ = true;
    last_update_ = t;
    const Source& p = sources_.at(peer_);
    const auto& pest = *p.filter.estimate();
    peer_stratum_ = std::max(0, p.last.stratum);
    peer_refid_ = refid_text(p.last);
    root_delay_ = p.last.root_delay.value_or(0) + pest.delay;
    double peer_disp = p.last.dispersion;
    for (const auto& stage : p.filter.stages())
        if (stage.time == pest.time) peer_disp = stage.dispersion;
    root_dispersion_ = p.last.root_dispersion.value_or(0) + peer_disp +
                       ntp::kPhi * std::fabs(nanos_to_seconds(t - pest.time)) + pest.jitter + r.rms;
    last_offset_ = r.offset;
    rms_ = r.rms;
    survivors_ = static_cast<std::int64_t>(survivors.size());
    int leap = pending_leap(t, survivors);
    leap_ = leap;
    out.records.push_back(tracking_record(t, true));

    Adjust a;
    a.source = peer_;
    a.time = t;
    a.frequency = r.frequency;
    if (r.step) {
        a.step = *r.step;
        a.reason = "offset " + format_seconds(*r.step) + " s above --step-threshold " +
                   format_seconds(config_.loop.step_threshold) + " s in update " + std::to_string(loop_.updates());
    } else if (r.slew != 0) {
        a.slew = r.slew;
        a.slew_duration = r.slew_duration;
    }
    if (leap != 0) a.leap = leap;
    a.poll = r.poll;
    return finish(a);
}

}  // namespace timepipe::discipline
