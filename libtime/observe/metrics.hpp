// Status snapshots as Prometheus metrics: what time-metrics(8) serves on GET /metrics.
//
//   RestartTracker restarts;                       // one for the exporter's lifetime
//   std::vector<Scrape> scrapes;                   // per scrape: one per status socket
//   scrapes.push_back({.endpoint = path, .snapshot = std::move(*snap)});   // or .error = why
//   restarts.track(scrapes);                       // fills restarts and last_tool
//   std::string body = render_metrics(scrapes);    // text format 0.0.4
//
// Conventions (https://prometheus.io/docs/practices/naming/): prefix timepipe_, base units
// (seconds; a frequency offset as a ratio, s/s), counters end in _total, what varies (tool,
// source, reason) is a label, not part of a name. Every series carries `tool` (the status
// record's source: "ntp-serve") and `socket` (the status socket's path): two instances of one
// tool (ntp-serve on 127.0.0.1 and on ::1) differ only by socket. Per-source series add `source`
// ("ntp://192.0.2.1:123"), as the records name it. Values come from the newest record of each
// (type, source) in the snapshot; a field a record does not carry gives no series.
//
// The metrics (metric_families() lists them, for man/time-metrics.8):
//
// Per status socket (status record):
//   timepipe_up                          gauge    tool socket       1 answered, 0 not
//   timepipe_tool_start_time_seconds     gauge    tool socket       status.started, Unix time
//   timepipe_tool_restarts_total         counter  tool socket       pid or started changed between
//                                                                   scrapes (RestartTracker; a lower
//                                                                   bound: restarts between two
//                                                                   scrapes count once)
//   timepipe_tool_info                   gauge    tool socket version   always 1
//   timepipe_snapshot_unreadable_records gauge    tool socket       records of a known type that
//                                                                   failed its checks (not shown)
// Per source (sample records: ntp-query, roughtime-query, gps-reader, pps-capture, ...):
//   timepipe_source_offset_seconds           gauge  tool socket source   sample.offset
//   timepipe_source_delay_seconds            gauge  ...                  sample.delay
//   timepipe_source_dispersion_seconds       gauge  ...                  sample.dispersion
//   timepipe_source_jitter_seconds           gauge  ...                  sample.jitter
//   timepipe_source_root_delay_seconds       gauge  ...                  sample.root_delay
//   timepipe_source_root_dispersion_seconds  gauge  ...                  sample.root_dispersion
//   timepipe_source_reach                    gauge  ...                  sample.reach, 0-255 (the
//                                                                        register: 255 = last 8 ok)
//   timepipe_source_stratum                  gauge  ...                  sample.stratum
//   timepipe_source_leap                     gauge  ...                  sample.leap, LI 0-3
//   timepipe_source_poll_seconds             gauge  ...                  2^sample.poll
//   timepipe_source_last_sample_time_seconds gauge  ...                  sample.time, Unix time
//   timepipe_source_verified                 gauge  ...                  sample.verified, 1/0
// Per source, the discipline's selection (source_state records):
//   timepipe_source_state                    gauge  tool socket source state   1 for the source's
//       state, 0 for the five others; state is system_peer (*), combined (+), not_combined (-),
//       falseticker (x), too_variable (~), unusable (?). One gauge per state, as node_exporter
//       shows enums (node_systemd_unit_state): every mark stays queryable ("alert on any
//       falseticker", sum by (state)), which a selected 0/1 would lose, and the series do not
//       come and go when the mark changes.
//   timepipe_source_filtered_offset_seconds  gauge  tool socket source   source_state.offset
//   timepipe_source_filtered_delay_seconds   gauge  ...                  source_state.delay
//   timepipe_source_filtered_jitter_seconds  gauge  ...                  source_state.jitter
// The discipline's state (the newest tracking record by time; discipline, and ntp-serve
// --upstream which serves from one):
//   timepipe_tracking_info                   gauge  tool socket reference refid   always 1;
//                                                   reference = tracking.source (system peer)
//   timepipe_tracking_stratum                gauge  tool socket    tracking.stratum (16: none)
//   timepipe_tracking_leap                   gauge  ...            tracking.leap, LI 0-3
//   timepipe_tracking_synchronised           gauge  ...            1/0
//   timepipe_tracking_offset_seconds         gauge  ...            tracking.offset
//   timepipe_tracking_rms_offset_seconds     gauge  ...            tracking.rms_offset
//   timepipe_tracking_frequency_ratio        gauge  ...            tracking.frequency * 1e-6 (ppm
//       to s/s, as node_exporter's node_timex_frequency_adjustment_ratio: base units; multiply
//       by 1e6 for ppm)
//   timepipe_tracking_skew_ratio             gauge  ...            tracking.skew * 1e-6
//   timepipe_tracking_root_delay_seconds     gauge  ...            tracking.root_delay
//   timepipe_tracking_root_dispersion_seconds gauge ...            tracking.root_dispersion, at
//                                                                  the last update (not aged)
//   timepipe_tracking_root_distance_seconds  gauge  ...            root_delay / 2 + root_dispersion
//   timepipe_tracking_poll_seconds           gauge  ...            2^tracking.poll
//   timepipe_tracking_selected_sources       gauge  ...            tracking.sources
//   timepipe_tracking_last_update_time_seconds gauge ...           tracking.time, Unix time
//   timepipe_clock_steps_total               counter tool socket   "steps" of clockadj's stats
//                                                                  record (steps applied), or of
//                                                                  discipline's if it has one
// ntp-serve (its stats record, source "ntp-serve"; libtime/server/counters.hpp names):
//   timepipe_ntp_server_requests_total              counter  received
//   timepipe_ntp_server_responses_total             counter  answered (basic, interleaved, NTS)
//   timepipe_ntp_server_interleaved_responses_total counter  interleaved
//   timepipe_ntp_server_nts_responses_total         counter  nts
//   timepipe_ntp_server_nts_naks_total              counter  nts_nak
//   timepipe_ntp_server_kod_total      counter  code: RATE kod_rate, DENY kod_deny, RSTR kod_rstr
//   timepipe_ntp_server_dropped_total  counter  reason: malformed, mode6, mode7, mode, denied,
//                                               rate, nts (the dropped_REASON counters)
//   timepipe_ntp_server_send_errors_total           counter  send_errors
//   timepipe_ntp_server_tx_timestamps_total         counter  tx_timestamps
//   timepipe_ntp_server_wakeups_total               counter  wakeups
// nts-ke --serve (stats source "nts-ke"):
//   timepipe_nts_ke_connections_total        counter  connections
//   timepipe_nts_ke_handshakes_total         counter  handshakes (TLS completed)
//   timepipe_nts_ke_responses_total          counter  responses (keys and cookies sent)
//   timepipe_nts_ke_connection_failures_total counter reason: tls (tls_failures), timeout
//                                                     (timeouts), refused (refused: too many)
//   timepipe_nts_ke_error_records_total      counter  error: bad_request, unrecognized_critical,
//                                                     internal (error_ERROR; their sum,
//                                                     errors_sent, is left to timepipe_stats_total)
//   timepipe_nts_ke_cookies_total            counter  cookies issued
//   timepipe_nts_ke_key_reloads_total        counter  key_reloads
//   timepipe_nts_ke_key_rotations_total      counter  key_rotations
//   timepipe_nts_ke_key_rotation_failures_total counter key_rotation_failures
// roughtime-serve (stats source "roughtime-serve"):
//   timepipe_roughtime_server_requests_total   counter  received
//   timepipe_roughtime_server_responses_total  counter  answered
//   timepipe_roughtime_server_version_responses_total counter version: rfc, draft12, draft11,
//                                                     draft08, google (answered_VERSION)
//   timepipe_roughtime_server_dropped_total    counter  reason: short, malformed, version, srv,
//                                               too_large, oversized, unsynchronised (dropped_REASON)
//   timepipe_roughtime_server_send_errors_total     counter  send_errors
//   timepipe_roughtime_server_tcp_connections_total counter  tcp_connections
//   timepipe_roughtime_server_tcp_refused_total     counter  tcp_refused
//   timepipe_roughtime_server_batches_total         counter  batches
//   timepipe_roughtime_server_signatures_total      counter  signatures
//   timepipe_roughtime_server_online_keys_total     counter  online_keys
// Everything else:
//   timepipe_stats_total   counter  tool socket source counter   every counter of a stats record
//       not named above (webntp-serve, gps-reader, pps-capture, shm-*, ntp-query's per-source
//       counters, a server's stats under another source, counters added later): nothing is
//       dropped. (Not timepipe_counter_total: promtool's lint refuses a type name in a name.)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/unix_time.hpp"
#include "libtime/observe/prometheus.hpp"
#include "libtime/observe/snapshot.hpp"

namespace timepipe::observe {

// One status socket's result in one scrape.
struct Scrape {
    std::string endpoint;                // the socket path
    std::optional<Snapshot> snapshot;    // what it answered, decoded; empty: it did not
    std::string error;                   // why not, for the exporter's log (never exposed)
    // Set by RestartTracker::track (0 and "" without one):
    std::uint64_t restarts = 0;          // restarts seen at this endpoint
    std::string last_tool;               // the tool that last answered here (labels a down one)
};

// Remembers, per endpoint, the pid and start time of the process that last answered, and counts
// the changes: a restart. The first answer is not one; nor is a socket that did not answer.
class RestartTracker {
public:
    void track(std::span<Scrape> scrapes);
    std::uint64_t restarts(std::string_view endpoint) const;

private:
    struct Seen {
        std::string tool;
        std::int64_t pid = 0;
        UnixNanos started = 0;
        std::uint64_t restarts = 0;
    };
    std::map<std::string, Seen, std::less<>> seen_;
};

struct MetricFamily {
    std::string_view name;
    MetricType type;
    std::string_view help;
};
// Every family render_metrics may write, in the order it writes them.
std::span<const MetricFamily> metric_families();

// The exposition (text format 0.0.4) of these scrapes. An endpoint given twice counts once.
std::string render_metrics(std::span<const Scrape> scrapes);

}  // namespace timepipe::observe
