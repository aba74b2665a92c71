#include "libtime/observe/metrics.hpp"

#include <array>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "libtime/stream/records.hpp"

namespace timepipe::observe {

namespace {

constexpr auto G = MetricType::gauge;
constexpr auto C = MetricType::counter;

constexpr MetricFamily kFamilies[] = {
    {"timepipe_up", G, "1 if the tool's status socket answered this scrape with a valid snapshot, else 0."},
    {"timepipe_tool_start_time_seconds", G, "When the tool's process started, seconds since 1970."},
    {"timepipe_tool_restarts_total", C, "Times the process answering this status socket changed (pid or start time) between scrapes."},
    {"timepipe_tool_info", G, "The tool answering this status socket and its timepipe version; always 1."},
    {"timepipe_snapshot_unreadable_records", G, "Records in the snapshot that failed the checks of their type and are not shown."},
    {"timepipe_source_offset_seconds", G, "Offset of the source's newest sample: its clock minus the local clock."},
    {"timepipe_source_delay_seconds", G, "Round-trip delay of the source's newest sample."},
    {"timepipe_source_dispersion_seconds", G, "Dispersion of the source's newest sample."},
    {"timepipe_source_jitter_seconds", G, "Jitter of the source as of its newest sample."},
    {"timepipe_source_root_delay_seconds", G, "Root delay the source reported in its newest sample."},
    {"timepipe_source_root_dispersion_seconds", G, "Root dispersion the source reported in its newest sample."},
    {"timepipe_source_reach", G, "Reachability register of the source, 0-255 (255: the last 8 polls answered)."},
    {"timepipe_source_stratum", G, "Stratum of the source's newest sample (16: unsynchronised)."},
    {"timepipe_source_leap", G, "Leap indicator of the source's newest sample: 0 none, 1 insert, 2 delete, 3 unsynchronised."},
    {"timepipe_source_poll_seconds", G, "Poll interval of the source."},
    {"timepipe_source_last_sample_time_seconds", G, "Local receive time of the source's newest sample, seconds since 1970."},
    {"timepipe_source_verified", G, "1 if the source's newest sample was authenticated and verified, 0 if not (Roughtime)."},
    {"timepipe_source_state", G, "The discipline's selection state of the source: 1 for its state, 0 for the others (system_peer *, combined +, not_combined -, falseticker x, too_variable ~, unusable ?)."},
    {"timepipe_source_filtered_offset_seconds", G, "Offset the discipline's clock filter chose for the source."},
    {"timepipe_source_filtered_delay_seconds", G, "Delay of the sample the discipline's clock filter chose for the source."},
    {"timepipe_source_filtered_jitter_seconds", G, "Jitter of the source as the discipline's clock filter sees it."},
    {"timepipe_tracking_info", G, "The discipline's system peer (reference) and the reference ID it serves; always 1."},
    {"timepipe_tracking_stratum", G, "Stratum the disciplined clock serves at (16: unsynchronised)."},
    {"timepipe_tracking_leap", G, "Leap indicator the disciplined clock serves: 0 none, 1 insert, 2 delete, 3 unsynchronised."},
    {"timepipe_tracking_synchronised", G, "1 if the discipline considers the clock synchronised, else 0."},
    {"timepipe_tracking_offset_seconds", G, "Estimated offset of the reference minus the local clock, still to be corrected."},
    {"timepipe_tracking_rms_offset_seconds", G, "Long-term RMS of the offset."},
    {"timepipe_tracking_frequency_ratio", G, "Frequency correction applied to the clock, as a ratio (1e-6 is 1 ppm; positive: sped up)."},
    {"timepipe_tracking_skew_ratio", G, "Error bound of the frequency estimate, as a ratio (1e-6 is 1 ppm)."},
    {"timepipe_tracking_root_delay_seconds", G, "Root delay to the primary reference."},
    {"timepipe_tracking_root_dispersion_seconds", G, "Root dispersion at the last update."},
    {"timepipe_tracking_root_distance_seconds", G, "Root distance at the last update: root delay / 2 + root dispersion."},
    {"timepipe_tracking_poll_seconds", G, "Poll interval the discipline wants."},
    {"timepipe_tracking_selected_sources", G, "Sources that survived selection."},
    {"timepipe_tracking_last_update_time_seconds", G, "Local clock time of the discipline's last update, seconds since 1970."},
    {"timepipe_clock_steps_total", C, "Steps of the clock (clockadj: applied; discipline: decided)."},
    {"timepipe_ntp_server_requests_total", C, "Datagrams the NTP server read."},
    {"timepipe_ntp_server_responses_total", C, "Responses the NTP server sent (basic, interleaved and NTS)."},
    {"timepipe_ntp_server_interleaved_responses_total", C, "Interleaved-mode responses the NTP server sent."},
    {"timepipe_ntp_server_nts_responses_total", C, "NTS-authenticated responses the NTP server sent."},
    {"timepipe_ntp_server_nts_naks_total", C, "NTS NAKs the NTP server sent (a cookie or authenticator that did not open)."},
    {"timepipe_ntp_server_kod_total", C, "Kiss-o'-Death responses the NTP server sent, by code."},
    {"timepipe_ntp_server_dropped_total", C, "Requests the NTP server dropped without an answer, by reason."},
    {"timepipe_ntp_server_send_errors_total", C, "Responses the kernel would not take."},
    {"timepipe_ntp_server_tx_timestamps_total", C, "Kernel transmit timestamps read back for interleaved mode."},
    {"timepipe_ntp_server_wakeups_total", C, "Times a server worker woke and read at least one datagram."},
    {"timepipe_nts_ke_connections_total", C, "TCP connections the NTS-KE server accepted."},
    {"timepipe_nts_ke_handshakes_total", C, "TLS handshakes the NTS-KE server completed."},
    {"timepipe_nts_ke_responses_total", C, "NTS-KE responses with keys and cookies sent."},
    {"timepipe_nts_ke_connection_failures_total", C, "NTS-KE connections that failed, by reason (tls, timeout, refused: too many open)."},
    {"timepipe_nts_ke_error_records_total", C, "NTS-KE Error records sent, by error code."},
    {"timepipe_nts_ke_cookies_total", C, "NTS cookies issued."},
    {"timepipe_nts_ke_key_reloads_total", C, "Times the NTS-KE server took a changed cookie key file."},
    {"timepipe_nts_ke_key_rotations_total", C, "Cookie key rotations the NTS-KE server made."},
    {"timepipe_nts_ke_key_rotation_failures_total", C, "Cookie key rotations that failed."},
    {"timepipe_roughtime_server_requests_total", C, "Requests the Roughtime server read (datagrams and TCP packets)."},
    {"timepipe_roughtime_server_responses_total", C, "Responses the Roughtime server sent."},
    {"timepipe_roughtime_server_version_responses_total", C, "Responses the Roughtime server sent, by protocol version."},
    {"timepipe_roughtime_server_dropped_total", C, "Requests the Roughtime server dropped, by reason."},
    {"timepipe_roughtime_server_send_errors_total", C, "Roughtime responses the kernel would not take."},
    {"timepipe_roughtime_server_tcp_connections_total", C, "TCP connections the Roughtime server accepted."},
    {"timepipe_roughtime_server_tcp_refused_total", C, "TCP connections the Roughtime server closed at once: too many open."},
    {"timepipe_roughtime_server_batches_total", C, "Batches of requests the Roughtime server signed."},
    {"timepipe_roughtime_server_signatures_total", C, "Signed responses (SREP): one per version answered in a batch."},
    {"timepipe_roughtime_server_online_keys_total", C, "Online keys the Roughtime server made (the first one and rotations)."},
    {"timepipe_stats_total", C, "A counter of a tool's stats record not exposed under a name of its own, by source and counter."},
};

// A counter of a known tool's own stats record (source = tool) and where it goes.
struct Named {
    std::string_view tool, counter, family, label, value;
};
constexpr Named kNamed[] = {
    {"ntp-serve", "received", "timepipe_ntp_server_requests_total", "", ""},
    {"ntp-serve", "answered", "timepipe_ntp_server_responses_total", "", ""},
    {"ntp-serve", "interleaved", "timepipe_ntp_server_interleaved_responses_total", "", ""},
    {"ntp-serve", "nts", "timepipe_ntp_server_nts_responses_total", "", ""},
    {"ntp-serve", "nts_nak", "timepipe_ntp_server_nts_naks_total", "", ""},
    {"ntp-serve", "kod_rate", "timepipe_ntp_server_kod_total", "code", "RATE"},
    {"ntp-serve", "kod_deny", "timepipe_ntp_server_kod_total", "code", "DENY"},
    {"ntp-serve", "kod_rstr", "timepipe_ntp_server_kod_total", "code", "RSTR"},
    {"ntp-serve", "dropped_malformed", "timepipe_ntp_server_dropped_total", "reason", "malformed"},
    {"ntp-serve", "dropped_mode6", "timepipe_ntp_server_dropped_total", "reason", "mode6"},
    {"ntp-serve", "dropped_mode7", "timepipe_ntp_server_dropped_total", "reason", "mode7"},
    {"ntp-serve", "dropped_mode", "timepipe_ntp_server_dropped_total", "reason", "mode"},
    {"ntp-serve", "dropped_denied", "timepipe_ntp_server_dropped_total", "reason", "denied"},
    {"ntp-serve", "dropped_rate", "timepipe_ntp_server_dropped_total", "reason", "rate"},
    {"ntp-serve", "dropped_nts", "timepipe_ntp_server_dropped_total", "reason", "nts"},
    {"ntp-serve", "send_errors", "timepipe_ntp_server_send_errors_total", "", ""},
    {"ntp-serve", "tx_timestamps", "timepipe_ntp_server_tx_timestamps_total", "", ""},
    {"ntp-serve", "wakeups", "timepipe_ntp_server_wakeups_total", "", ""},
    {"nts-ke", "connections", "timepipe_nts_ke_connections_total", "", ""},
    {"nts-ke", "handshakes", "timepipe_nts_ke_handshakes_total", "", ""},
    {"nts-ke", "responses", "timepipe_nts_ke_responses_total", "", ""},
    {"nts-ke", "tls_failures", "timepipe_nts_ke_connection_failures_total", "reason", "tls"},
    {"nts-ke", "timeouts", "timepipe_nts_ke_connection_failures_total", "reason", "timeout"},
    {"nts-ke", "refused", "timepipe_nts_ke_connection_failures_total", "reason", "refused"},
    {"nts-ke", "error_bad_request", "timepipe_nts_ke_error_records_total", "error", "bad_request"},
    {"nts-ke", "error_unrecognized_critical", "timepipe_nts_ke_error_records_total", "error", "unrecognized_critical"},
    {"nts-ke", "error_internal", "timepipe_nts_ke_error_records_total", "error", "internal"},
    {"nts-ke", "cookies", "timepipe_nts_ke_cookies_total", "", ""},
    {"nts-ke", "key_reloads", "timepipe_nts_ke_key_reloads_total", "", ""},
    {"nts-ke", "key_rotations", "timepipe_nts_ke_key_rotations_total", "", ""},
    {"nts-ke", "key_rotation_failures", "timepipe_nts_ke_key_rotation_failures_total", "", ""},
    {"roughtime-serve", "received", "timepipe_roughtime_server_requests_total", "", ""},
    {"roughtime-serve", "answered", "timepipe_roughtime_server_responses_total", "", ""},
    {"roughtime-serve", "answered_rfc", "timepipe_roughtime_server_version_responses_total", "version", "rfc"},
    {"roughtime-serve", "answered_draft12", "timepipe_roughtime_server_version_responses_total", "version", "draft12"},
    {"roughtime-serve", "answered_draft11", "timepipe_roughtime_server_version_responses_total", "version", "draft11"},
    {"roughtime-serve", "answered_draft08", "timepipe_roughtime_server_version_responses_total", "version", "draft08"},
    {"roughtime-serve", "answered_google", "timepipe_roughtime_server_version_responses_total", "version", "google"},
    {"roughtime-serve", "dropped_short", "timepipe_roughtime_server_dropped_total", "reason", "short"},
    {"roughtime-serve", "dropped_malformed", "timepipe_roughtime_server_dropped_total", "reason", "malformed"},
    {"roughtime-serve", "dropped_version", "timepipe_roughtime_server_dropped_total", "reason", "version"},
    {"roughtime-serve", "dropped_srv", "timepipe_roughtime_server_dropped_total", "reason", "srv"},
    {"roughtime-serve", "dropped_too_large", "timepipe_roughtime_server_dropped_total", "reason", "too_large"},
    {"roughtime-serve", "dropped_oversized", "timepipe_roughtime_server_dropped_total", "reason", "oversized"},
    {"roughtime-serve", "dropped_unsynchronised", "timepipe_roughtime_server_dropped_total", "reason", "unsynchronised"},
    {"roughtime-serve", "send_errors", "timepipe_roughtime_server_send_errors_total", "", ""},
    {"roughtime-serve", "tcp_connections", "timepipe_roughtime_server_tcp_connections_total", "", ""},
    {"roughtime-serve", "tcp_refused", "timepipe_roughtime_server_tcp_refused_total", "", ""},
    {"roughtime-serve", "batches", "timepipe_roughtime_server_batches_total", "", ""},
    {"roughtime-serve", "signatures", "timepipe_roughtime_server_signatures_total", "", ""},
    {"roughtime-serve", "online_keys", "timepipe_roughtime_server_online_keys_total", "", ""},
    {"clockadj", "steps", "timepipe_clock_steps_total", "", ""},
    {"discipline", "steps", "timepipe_clock_steps_total", "", ""},
};

const Named* named(std::string_view tool, std::string_view counter) {
    for (const auto& n : kNamed)
        if (n.tool == tool && n.counter == counter) return &n;
    return nullptr;
}

// The marks of SourceState::kStates and their label values, in that order.
constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kStates = {{
    {"*", "system_peer"}, {"+", "combined"}, {"-", "not_combined"},
    {"x", "falseticker"}, {"~", "too_variable"}, {"?", "unusable"},
}};

double seconds(UnixNanos ns) {
    return static_cast<double>(ns / 1'000'000'000) + static_cast<double>(ns % 1'000'000'000) / 1e9;
}

// Adds through a writer that has already checked everything it can: a failure here is a
// duplicate series from a hostile snapshot, and the first one stays.
struct Out {
    Exposition e;
    void add(std::string_view name, const Labels& l, double v) { (void)e.add(name, l, v); }
    void count(std::string_view name, const Labels& l, std::uint64_t v) { (void)e.add(name, l, v); }
};

Labels with(Labels base, std::string name, std::string value) {
    base.emplace_back(std::move(name), std::move(value));
    return base;
}

void render_snapshot(Out& out, const Scrape& s) {
    const Snapshot& snap = *s.snapshot;
    const std::string& tool = snap.tool.source;
    const Labels tl = {{"tool", tool}, {"socket", s.endpoint}};

    out.add("timepipe_up", tl, 1);
    out.add("timepipe_tool_start_time_seconds", tl, seconds(snap.tool.started));
    out.count("timepipe_tool_restarts_total", tl, s.restarts);
    out.add("timepipe_tool_info", with(tl, "version", snap.tool.version), 1);

    // The newest record of each (type, source): a later one replaces an earlier one.
    std::map<std::pair<std::string, std::string>, const Record*> latest;
    for (const Record& r : snap.records) {
        auto src = r.find("source");
        if (src == r.end() || !src->is_string()) continue;
        latest[{std::string(record_type(r)), src->get<std::string>()}] = &r;
    }

    std::uint64_t unreadable = 0;
    std::optional<Tracking> tracking;
    for (const auto& [key, rec] : latest) {
        const auto& [type, source] = key;
        const Labels sl = with(tl, "source", source);
        if (type == Sample::kType) {
            auto x = from_record<Sample>(*rec);
            if (!x) { ++unreadable; continue; }
            out.add("timepipe_source_offset_seconds", sl, x->offset);
            out.add("timepipe_source_delay_seconds", sl, x->delay);
            out.add("timepipe_source_dispersion_seconds", sl, x->dispersion);
            if (x->jitter) out.add("timepipe_source_jitter_seconds", sl, *x->jitter);
            if (x->root_delay) out.add("timepipe_source_root_delay_seconds", sl, *x->root_delay);
            if (x->root_dispersion) out.add("timepipe_source_root_dispersion_seconds", sl, *x->root_dispersion);
            if (x->reach) out.add("timepipe_source_reach", sl, *x->reach);
            out.add("timepipe_source_stratum", sl, x->stratum);
            out.add("timepipe_source_leap", sl, x->leap);
            out.add("timepipe_source_poll_seconds", sl, std::ldexp(1.0, x->poll));
            out.add("timepipe_source_last_sample_time_seconds", sl, seconds(x->time));
            if (x->verified) out.add("timepipe_source_verified", sl, *x->verified ? 1 : 0);
        } else if (type == SourceState::kType) {
            auto x = from_record<SourceState>(*rec);
            if (!x) { ++unreadable; continue; }
            for (const auto& [mark, state] : kStates)
                out.add("timepipe_source_state", with(sl, "state", std::string(state)), x->state == mark ? 1 : 0);
            if (x->offset) out.add("timepipe_source_filtered_offset_seconds", sl, *x->offset);
            if (x->delay) out.add("timepipe_source_filtered_delay_seconds", sl, *x->delay);
            if (x->jitter) out.add("timepipe_source_filtered_jitter_seconds", sl, *x->jitter);
        } else if (type == Tracking::kType) {
            auto x = from_record<Tracking>(*rec);
            if (!x) { ++unreadable; continue; }
            // The store keeps one per system peer it ever had: the newest is the state.
            if (!tracking || x->time >= tracking->time) tracking = std::move(*x);
        } else if (type == Stats::kType) {
            auto x = from_record<Stats>(*rec);
            if (!x) { ++unreadable; continue; }
            for (const auto& [counter, value] : x->counters) {
                const Named* n = x->source == tool ? named(tool, counter) : nullptr;
                if (!n) out.count("timepipe_stats_total", with(sl, "counter", counter), value);
                else if (n->label.empty()) out.count(n->family, tl, value);
                else out.count(n->family, with(tl, std::string(n->label), std::string(n->value)), value);
            }
        }
    }
    out.add("timepipe_snapshot_unreadable_records", tl, static_cast<double>(unreadable));

    if (tracking) {
        const Tracking& t = *tracking;
        out.add("timepipe_tracking_info", with(with(tl, "reference", t.source), "refid", t.refid), 1);
        out.add("timepipe_tracking_stratum", tl, t.stratum);
        out.add("timepipe_tracking_leap", tl, t.leap);
        out.add("timepipe_tracking_synchronised", tl, t.synchronised ? 1 : 0);
        out.add("timepipe_tracking_offset_seconds", tl, t.offset);
        if (t.rms_offset) out.add("timepipe_tracking_rms_offset_seconds", tl, *t.rms_offset);
        out.add("timepipe_tracking_frequency_ratio", tl, t.frequency / 1e6);
        out.add("timepipe_tracking_skew_ratio", tl, t.skew / 1e6);
        out.add("timepipe_tracking_root_delay_seconds", tl, t.root_delay);
        out.add("timepipe_tracking_root_dispersion_seconds", tl, t.root_dispersion);
        out.add("timepipe_tracking_root_distance_seconds", tl, t.root_delay / 2 + t.root_dispersion);
        if (t.poll) out.add("timepipe_tracking_poll_seconds", tl, std::ldexp(1.0, *t.poll));
        if (t.sources) out.add("timepipe_tracking_selected_sources", tl, static_cast<double>(*t.sources));
        out.add("timepipe_tracking_last_update_time_seconds", tl, seconds(t.time));
    }
}

}  // namespace

std::span<const MetricFamily> metric_families() { return kFamilies; }

void RestartTracker::track(std::span<Scrape> scrapes) {
    for (Scrape& s : scrapes) {
        auto it = seen_.find(s.endpoint);
        if (s.snapshot) {
            const ToolStatus& t = s.snapshot->tool;
            if (it == seen_.end()) {
                it = seen_.emplace(s.endpoint, Seen{t.source, t.pid, t.started, 0}).first;
            } else if (it->second.pid != t.pid || it->second.started != t.started || it->second.tool != t.source) {
                // A restart, or another tool now answering here: its counters began anew.
                it->second = Seen{t.source, t.pid, t.started, it->second.restarts + 1};
            }
        }
        s.restarts = it == seen_.end() ? 0 : it->second.restarts;
        s.last_tool = it == seen_.end() ? "" : it->second.tool;
    }
}

std::uint64_t RestartTracker::restarts(std::string_view endpoint) const {
    auto it = seen_.find(endpoint);
    return it == seen_.end() ? 0 : it->second.restarts;
}

std::string render_metrics(std::span<const Scrape> scrapes) {
    Out out;
    for (const auto& f : kFamilies) (void)out.e.family(std::string(f.name), f.type, std::string(f.help));
    std::set<std::string_view> done;
    for (const Scrape& s : scrapes) {
        if (!done.insert(s.endpoint).second) continue;
        if (s.snapshot) {
            render_snapshot(out, s);
        } else {
            const Labels tl = {{"tool", s.last_tool}, {"socket", s.endpoint}};
            out.add("timepipe_up", tl, 0);
            if (!s.last_tool.empty()) out.count("timepipe_tool_restarts_total", tl, s.restarts);
        }
    }
    return out.e.text();
}

}  // namespace timepipe::observe
