// The status of a whole installation, as timepipe-status(1) shows it: a model built from the
// status snapshots of every tool (libtime/observe/snapshot.hpp) plus the sockets that did not
// answer, and its two renderings: chronyc-like text (sources, tracking, servers, tools; 79
// columns) and a stable JSON object (documented in man/timepipe-status.1). Pure: `now` is given.
//
//   std::vector<Snapshot> snaps = ...;              // decode_snapshot of each socket's bytes
//   auto view = build_status_view(snaps, unreachable, now);
//   std::fputs(render_text(view, Section::all, verbose).c_str(), stdout);
//   std::puts(render_json(view).c_str());
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/unix_time.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::observe {

// A status socket that gave no snapshot, and why ("connection refused", "byte 0: ...").
struct Unreachable {
    std::string endpoint;
    std::string error;
    int exit_code = 0;
};

using Counters = std::map<std::string, std::uint64_t>;

// One tool that answered.
struct ToolView {
    std::string endpoint;
    ToolStatus status;
};

// A source by name, joined across tools: the newest sample any tool reported for it (ntp-query,
// roughtime-query, gps-reader, ...), discipline's selection mark, and the tool's per-source
// counters (a `stats` record whose source is the source's name).
struct SourceView {
    std::string name;
    std::optional<Sample> sample;
    Record sample_record;            // the sample as received (Roughtime keys included)
    std::string sample_tool;
    std::optional<SourceState> state;
    Counters counters;
    std::string counters_tool;
};

// A `stats` record of a tool (not of a source).
struct CounterView {
    std::string tool;
    std::string endpoint;
    std::string source;
    UnixNanos time = 0;
    Counters counters;
};

struct StatusView {
    UnixNanos now = 0;
    std::vector<ToolView> tools;            // in the order of the snapshots
    std::vector<SourceView> sources;        // by name
    std::optional<Tracking> tracking;       // the newest any tool has (discipline's)
    std::string tracking_tool;
    std::optional<Refusal> refusal;         // the newest
    std::string refusal_tool;
    std::vector<CounterView> servers;       // ntp-serve
    std::vector<CounterView> roughtime;     // roughtime-serve
    std::vector<CounterView> nts_ke;        // nts-ke
    std::vector<CounterView> stats;         // every other tool's stats
    std::vector<std::pair<std::string, Record>> records;   // (tool, record) of other types
    std::vector<Unreachable> unreachable;
};

StatusView build_status_view(std::span<const Snapshot> snapshots, std::vector<Unreachable> unreachable,
                             UnixNanos now);

// What an NTP server's counters (libtime/server/counters.hpp names) add up to.
struct NtpServerSummary {
    std::uint64_t requests = 0;       // received
    std::uint64_t answered = 0;       // answered (NTS answers included)
    std::uint64_t kod = 0;            // kod_rate + kod_deny + kod_rstr
    std::uint64_t rate_limited = 0;   // kod_rate + dropped_rate
    std::uint64_t nts = 0;            // nts
    std::uint64_t nts_nak = 0;        // nts_nak
    std::uint64_t dropped = 0;        // every dropped_* counter
};
NtpServerSummary summarise_ntp_server(const Counters& c);

// The sections a command word selects (timepipe-status sources).
enum class Section { all, sources, tracking, servers, tools };
std::optional<Section> parse_section(std::string_view word);

// chronyc-like text; `verbose` adds the legend of the sources table, the reasons behind '?' and
// 'x', each source's counters and every tool's socket. Strings from snapshots are escaped.
std::string render_text(const StatusView& view, Section section, bool verbose);
// The JSON object of man/timepipe-status.1 on one line, ending in '\n'.
std::string render_json(const StatusView& view);
Record to_json(const StatusView& view);

}  // namespace timepipe::observe
