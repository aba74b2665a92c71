// The discipline: sample records in, adjust / tracking / refusal records out (discipline(1)).
//
//   Discipline d(config);                       // config.loop.*, min_sources, holdover, ...
//   for each record:
//       auto out = d.on_record(rec);            // records to write, in order (or a bad record)
//       write(out.records);                     // a sample always ends with exactly one adjust
//       if (out.fatal) exit(EX_SOFTWARE);       // --panic: the refusal and adjust are written first
//
// Per source: the RFC 5905 clock filter (ntp::ClockFilter) gives the candidate for selection;
// selection (ntp::select_sources: intersection of correctness intervals, clustering) keeps the
// truechimers; a sample of a surviving source is a point for the control loop (loop.hpp), weighted
// by how much its delay exceeds its source's minimum. Verified Roughtime samples are not sources
// but hard bounds on the offset (see time constraints in man/discipline.1). Pure: every decision
// is a function of the records' times.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libtime/discipline/leap_file.hpp"
#include "libtime/discipline/loop.hpp"
#include "libtime/ntp/filter.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::discipline {

struct DisciplineConfig {
    LoopConfig loop;
    double frequency = 0;              // ppm: the clock's frequency at start (the driftfile)
    std::size_t min_sources = 1;
    // Verified Roughtime bounds required before the clock is corrected at all (0: none), so
    // that NTP sources heard first cannot move it before a bound could refuse them.
    std::size_t min_bounds = 0;
    double holdover = 3600;            // s without an update before tracking says unsynchronised
    double max_drift = 100e-6;         // s/s: how fast a Roughtime bound widens with age
    double max_distance = 3.0;         // s: root distance beyond which a source is unfit
    double max_jitter = 1.0;           // s: filter jitter beyond which a source is too variable ('~')
    std::optional<LeapTable> leap_table;
};

struct Output {
    std::vector<Record> records;
    bool fatal = false;      // --panic refused a correction: stop after writing the records
    std::string fatal_line;  // what to say
};

class Discipline {
public:
    explicit Discipline(const DisciplineConfig& config);

    // A sample or roughtime_conflict whose keys are wrong fails (from_record's error); other
    // record types only move time on (holdover).
    Result<Output> on_record(const Record& record);
    Output on_sample(const Sample& s);
    Output on_conflict(const RoughtimeConflict& c);

    double frequency() const { return loop_.frequency(); }   // ppm, for the driftfile
    double skew() const { return loop_.skew(); }
    std::size_t updates() const { return loop_.updates(); }
    std::size_t source_count() const { return sources_.size(); }  // at most 64
    // The last record time seen (0 before any).
    UnixNanos last_time() const { return last_time_; }
    // Each NTP-like source as the last selection left it, by name, marked as chronyc sources
    // marks it (records.hpp SourceState): '*' the system peer, '+' combined with it, '-' a
    // truechimer the cluster algorithm trimmed, 'x' a falseticker (outside the intersection,
    // or no majority at all), '?' unusable, with the reason (KoD, unsynchronised, no filtered
    // sample yet, stale, too few sources), '~' too variable (its jitter beyond max_jitter,
    // as chrony's maxjitter). Roughtime servers are bounds, not sources: not listed.
    std::vector<SourceState> source_states() const;

private:
    struct Source {
        ntp::ClockFilter filter;
        Sample last;                 // the newest sample
        std::vector<double> delays;  // recent delays, for the minimum
        bool bad = false;            // a Roughtime server proven wrong
    };
    struct Bound {
        UnixNanos time = 0;
        double offset = 0;      // s, as measured
        double half_width = 0;  // s
        double correction = 0;  // the loop's correction_at(time)
    };

    Adjust empty_adjust(UnixNanos t) const;
    Record tracking_record(UnixNanos t, bool synchronised) const;
    void check_holdover(UnixNanos t, Output& out);
    int pending_leap(UnixNanos t, const std::vector<std::string>& survivors) const;
    void mark(const std::string& name, UnixNanos t, char state, std::optional<double> offset,
              std::optional<double> delay, std::optional<double> jitter, std::string reason = {});

    DisciplineConfig config_;
    Loop loop_;
    std::map<std::string, Source> sources_;
    std::map<std::string, Bound> bounds_;
    std::map<std::string, bool> bad_roughtime_;
    std::string peer_;                 // the system peer, "" none
    UnixNanos last_update_ = 0;        // of the last loop update
    bool synchronised_ = false;
    UnixNanos last_time_ = 0;
    // What the last tracking record said about the system peer.
    int peer_stratum_ = 16;
    std::string peer_refid_;
    double root_delay_ = 0;
    double root_dispersion_ = 0;
    double last_offset_ = 0;
    double rms_ = 0;
    int leap_ = 0;
    std::int64_t survivors_ = 0;
    std::map<std::string, SourceState> states_;   // what source_states() reports
};

// The refid text a tracking record carries for a sample's source: its 4 octets as a dotted
// quad, or for a reference clock (stratum 0) its refid text.
std::string refid_text(const Sample& s);

}  // namespace timepipe::discipline
