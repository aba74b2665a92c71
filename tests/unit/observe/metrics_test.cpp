// libtime/observe/metrics: snapshots to the exposition time-metrics serves — an exact expected
// exposition, restarts across scrapes, a down endpoint, hostile names, every family documented
// and written. With TIMEPIPE_EXPOSITION_OUT=FILE set, ObserveMetrics.RichExposition also writes
// the exposition of a snapshot of every kind to FILE: tests/973-metrics-exposition.bats runs
// promtool on it.
#include "libtime/observe/metrics.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "libtime/stream/records.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

constexpr UnixNanos kT = 1'765'000'000'000'000'000;   // 2025-12-06T05:46:40Z

ToolStatus tool(std::string name, std::int64_t pid = 100, UnixNanos started = kT - 3'600'000'000'000) {
    ToolStatus t;
    t.source = std::move(name);
    t.time = kT;
    t.pid = pid;
    t.started = started;
    t.version = "0.1";
    return t;
}

Scrape up(std::string endpoint, ToolStatus who, std::vector<Record> records) {
    Scrape s;
    s.endpoint = endpoint;
    s.snapshot = Snapshot{std::move(endpoint), std::move(who), std::move(records)};
    return s;
}

Scrape down(std::string endpoint) {
    Scrape s;
    s.endpoint = std::move(endpoint);
    s.error = "connection refused";
    return s;
}

Sample sample(std::string source) {
    Sample s;
    s.source = std::move(source);
    s.time = kT - 500'000'000;
    s.offset = -0.000123;
    s.delay = 0.0015;
    s.dispersion = 0.00025;
    s.stratum = 2;
    s.leap = 0;
    s.refid = "192.0.2.7";
    s.poll = 6;
    s.jitter = 0.00004;
    s.reach = 255;
    s.root_delay = 0.01;
    s.root_dispersion = 0.02;
    return s;
}

Tracking tracking() {
    Tracking t;
    t.source = "ntp://192.0.2.1:123";
    t.time = kT - 1'000'000'000;
    t.stratum = 3;
    t.refid = "192.0.2.1";
    t.root_delay = 0.004;
    t.root_dispersion = 0.001;
    t.offset = 0.0000025;
    t.frequency = -12.5;
    t.skew = 0.25;
    t.leap = 0;
    t.synchronised = true;
    t.poll = 4;
    t.rms_offset = 0.00001;
    t.sources = 2;
    return t;
}

SourceState state(std::string source, std::string mark) {
    SourceState s;
    s.source = std::move(source);
    s.time = kT - 500'000'000;
    s.state = std::move(mark);
    s.offset = -0.0001;
    s.delay = 0.0012;
    s.jitter = 0.00003;
    return s;
}

Stats stats(std::string source, std::map<std::string, std::uint64_t> counters) {
    return Stats{std::move(source), kT, std::move(counters)};
}

// Lines of `text` whose metric name is `name` (samples only).
std::vector<std::string> series(const std::string& text, const std::string& name) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(name + "{") || line.starts_with(name + " ")) out.push_back(line);
    return out;
}

// A snapshot of every kind, with hostile source names: what promtool checks.
std::vector<Scrape> rich() {
    const std::string evil = "ntp://\"quoted\"\\back\nslash:123";
    const std::string utf8 = "gps://Zürich/ℹ/😀";
    std::vector<Scrape> s;
    Sample rt = sample("roughtime://time.example:2002");
    rt.verified = false;
    rt.conflict = true;
    s.push_back(up("/run/timepipe/client/ntp-query.sock", tool("ntp-query"),
                   {to_record(sample(evil)), to_record(sample(utf8)), to_record(rt),
                    to_record(stats(evil, {{"sent", 10}, {"received", 9}}))}));
    s.push_back(up("/run/timepipe/client/discipline.sock", tool("discipline", 101),
                   {to_record(tracking()), to_record(state(evil, "*")), to_record(state(utf8, "?")),
                    to_record(stats("discipline", {{"steps", 1}, {"updates", 40}}))}));
    s.push_back(up("/run/timepipe/clockadj.sock", tool("clockadj", 102),
                   {to_record(stats("clockadj", {{"steps", 1}, {"slews", 30}, {"applied", 31}}))}));
    std::map<std::string, std::uint64_t> ntp;
    for (const char* c : {"received", "answered", "interleaved", "kod_rate", "kod_deny", "kod_rstr", "dropped_malformed",
                          "dropped_mode6", "dropped_mode7", "dropped_mode", "dropped_denied", "dropped_rate", "send_errors",
                          "tx_timestamps", "wakeups", "nts", "nts_nak", "dropped_nts", "some_future_counter"})
        ntp[c] = ntp.size() * 1000;
    s.push_back(up("/run/timepipe/ntp-serve/status.sock", tool("ntp-serve", 103),
                   {to_record(stats("ntp-serve", ntp)), to_record(tracking())}));
    std::map<std::string, std::uint64_t> ke;
    for (const char* c : {"connections", "handshakes", "responses", "errors_sent", "tls_failures", "timeouts", "refused",
                          "cookies", "key_reloads", "error_bad_request", "error_unrecognized_critical", "error_internal",
                          "key_rotations", "key_rotation_failures"})
        ke[c] = ke.size() + 1;
    s.push_back(up("/run/timepipe/nts-ke/status.sock", tool("nts-ke", 104), {to_record(stats("nts-ke", ke))}));
    std::map<std::string, std::uint64_t> rts;
    for (const char* c : {"received", "answered", "dropped_short", "dropped_malformed", "dropped_version", "dropped_srv",
                          "dropped_too_large", "dropped_oversized", "dropped_unsynchronised", "send_errors",
                          "tcp_connections", "tcp_refused", "batches", "online_keys", "signatures", "answered_rfc",
                          "answered_draft12", "answered_draft11", "answered_draft08", "answered_google"})
        rts[c] = rts.size() * 7;
    s.push_back(up("/run/timepipe/roughtime-serve/status.sock", tool("roughtime-serve", 105),
                   {to_record(stats("roughtime-serve", rts))}));
    s.push_back(up("/run/timepipe/webntp-serve/status.sock", tool("webntp-serve", 106),
                   {to_record(stats("webntp-serve", {{"http_json", 5}, {"ws_messages", 6}}))}));
    s.push_back(up("/run/timepipe/gps/status.sock", tool("gps-reader", 107),
                   {to_record(sample(utf8)), to_record(stats(utf8, {{"sentences", 1000}, {"garbage_bytes", 3}})),
                    Record{{"v", 1}, {"type", "sample"}, {"source", "bad"}, {"time", "not a time"}},
                    Record{{"v", 1}, {"type", "gps_fix"}, {"source", utf8}, {"time", kT}}}));
    s.push_back(down("/run/timepipe/pps/status.sock"));
    s[s.size() - 1].last_tool = "pps-capture";
    s[s.size() - 1].restarts = 2;
    s.push_back(down("/run/timepipe/never.sock"));
    return s;
}

}  // namespace

TEST(ObserveMetrics, ExactExposition) {
    std::vector<Scrape> s;
    Sample a = sample("ntp://192.0.2.1:123");
    s.push_back(up("/run/q.sock", tool("ntp-query"), {to_record(a)}));
    s.push_back(up("/run/d.sock", tool("discipline", 101),
                   {to_record(state("ntp://192.0.2.1:123", "+")), to_record(tracking())}));
    s.push_back(up("/run/s.sock", tool("ntp-serve", 102),
                   {to_record(stats("ntp-serve", {{"received", 10}, {"answered", 9}, {"kod_rate", 1}, {"dropped_rate", 2},
                                                  {"brand_new", 3}}))}));
    s.push_back(down("/run/x.sock"));
    s[1].restarts = 4;
    EXPECT_EQ(render_metrics(s),
              R"(# HELP timepipe_up 1 if the tool's status socket answered this scrape with a valid snapshot, else 0.
# TYPE timepipe_up gauge
timepipe_up{tool="ntp-query",socket="/run/q.sock"} 1
timepipe_up{tool="discipline",socket="/run/d.sock"} 1
timepipe_up{tool="ntp-serve",socket="/run/s.sock"} 1
timepipe_up{tool="",socket="/run/x.sock"} 0
# HELP timepipe_tool_start_time_seconds When the tool's process started, seconds since 1970.
# TYPE timepipe_tool_start_time_seconds gauge
timepipe_tool_start_time_seconds{tool="ntp-query",socket="/run/q.sock"} 1.7649964e+09
timepipe_tool_start_time_seconds{tool="discipline",socket="/run/d.sock"} 1.7649964e+09
timepipe_tool_start_time_seconds{tool="ntp-serve",socket="/run/s.sock"} 1.7649964e+09
# HELP timepipe_tool_restarts_total Times the process answering this status socket changed (pid or start time) between scrapes.
# TYPE timepipe_tool_restarts_total counter
timepipe_tool_restarts_total{tool="ntp-query",socket="/run/q.sock"} 0
timepipe_tool_restarts_total{tool="discipline",socket="/run/d.sock"} 4
timepipe_tool_restarts_total{tool="ntp-serve",socket="/run/s.sock"} 0
# HELP timepipe_tool_info The tool answering this status socket and its timepipe version; always 1.
# TYPE timepipe_tool_info gauge
timepipe_tool_info{tool="ntp-query",socket="/run/q.sock",version="0.1"} 1
timepipe_tool_info{tool="discipline",socket="/run/d.sock",version="0.1"} 1
timepipe_tool_info{tool="ntp-serve",socket="/run/s.sock",version="0.1"} 1
# HELP timepipe_snapshot_unreadable_records Records in the snapshot that failed the checks of their type and are not shown.
# TYPE timepipe_snapshot_unreadable_records gauge
timepipe_snapshot_unreadable_records{tool="ntp-query",socket="/run/q.sock"} 0
timepipe_snapshot_unreadable_records{tool="discipline",socket="/run/d.sock"} 0
timepipe_snapshot_unreadable_records{tool="ntp-serve",socket="/run/s.sock"} 0
# HELP timepipe_source_offset_seconds Offset of the source's newest sample: its clock minus the local clock.
# TYPE timepipe_source_offset_seconds gauge
timepipe_source_offset_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} -0.000123
# HELP timepipe_source_delay_seconds Round-trip delay of the source's newest sample.
# TYPE timepipe_source_delay_seconds gauge
timepipe_source_delay_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 0.0015
# HELP timepipe_source_dispersion_seconds Dispersion of the source's newest sample.
# TYPE timepipe_source_dispersion_seconds gauge
timepipe_source_dispersion_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 0.00025
# HELP timepipe_source_jitter_seconds Jitter of the source as of its newest sample.
# TYPE timepipe_source_jitter_seconds gauge
timepipe_source_jitter_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 4e-05
# HELP timepipe_source_root_delay_seconds Root delay the source reported in its newest sample.
# TYPE timepipe_source_root_delay_seconds gauge
timepipe_source_root_delay_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 0.01
# HELP timepipe_source_root_dispersion_seconds Root dispersion the source reported in its newest sample.
# TYPE timepipe_source_root_dispersion_seconds gauge
timepipe_source_root_dispersion_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 0.02
# HELP timepipe_source_reach Reachability register of the source, 0-255 (255: the last 8 polls answered).
# TYPE timepipe_source_reach gauge
timepipe_source_reach{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 255
# HELP timepipe_source_stratum Stratum of the source's newest sample (16: unsynchronised).
# TYPE timepipe_source_stratum gauge
timepipe_source_stratum{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 2
# HELP timepipe_source_leap Leap indicator of the source's newest sample: 0 none, 1 insert, 2 delete, 3 unsynchronised.
# TYPE timepipe_source_leap gauge
timepipe_source_leap{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 0
# HELP timepipe_source_poll_seconds Poll interval of the source.
# TYPE timepipe_source_poll_seconds gauge
timepipe_source_poll_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 64
# HELP timepipe_source_last_sample_time_seconds Local receive time of the source's newest sample, seconds since 1970.
# TYPE timepipe_source_last_sample_time_seconds gauge
timepipe_source_last_sample_time_seconds{tool="ntp-query",socket="/run/q.sock",source="ntp://192.0.2.1:123"} 1.7649999995e+09
# HELP timepipe_source_state The discipline's selection state of the source: 1 for its state, 0 for the others (system_peer *, combined +, not_combined -, falseticker x, too_variable ~, unusable ?).
# TYPE timepipe_source_state gauge
timepipe_source_state{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123",state="system_peer"} 0
timepipe_source_state{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123",state="combined"} 1
timepipe_source_state{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123",state="not_combined"} 0
timepipe_source_state{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123",state="falseticker"} 0
timepipe_source_state{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123",state="too_variable"} 0
timepipe_source_state{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123",state="unusable"} 0
# HELP timepipe_source_filtered_offset_seconds Offset the discipline's clock filter chose for the source.
# TYPE timepipe_source_filtered_offset_seconds gauge
timepipe_source_filtered_offset_seconds{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123"} -0.0001
# HELP timepipe_source_filtered_delay_seconds Delay of the sample the discipline's clock filter chose for the source.
# TYPE timepipe_source_filtered_delay_seconds gauge
timepipe_source_filtered_delay_seconds{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123"} 0.0012
# HELP timepipe_source_filtered_jitter_seconds Jitter of the source as the discipline's clock filter sees it.
# TYPE timepipe_source_filtered_jitter_seconds gauge
timepipe_source_filtered_jitter_seconds{tool="discipline",socket="/run/d.sock",source="ntp://192.0.2.1:123"} 3e-05
# HELP timepipe_tracking_info The discipline's system peer (reference) and the reference ID it serves; always 1.
# TYPE timepipe_tracking_info gauge
timepipe_tracking_info{tool="discipline",socket="/run/d.sock",reference="ntp://192.0.2.1:123",refid="192.0.2.1"} 1
# HELP timepipe_tracking_stratum Stratum the disciplined clock serves at (16: unsynchronised).
# TYPE timepipe_tracking_stratum gauge
timepipe_tracking_stratum{tool="discipline",socket="/run/d.sock"} 3
# HELP timepipe_tracking_leap Leap indicator the disciplined clock serves: 0 none, 1 insert, 2 delete, 3 unsynchronised.
# TYPE timepipe_tracking_leap gauge
timepipe_tracking_leap{tool="discipline",socket="/run/d.sock"} 0
# HELP timepipe_tracking_synchronised 1 if the discipline considers the clock synchronised, else 0.
# TYPE timepipe_tracking_synchronised gauge
timepipe_tracking_synchronised{tool="discipline",socket="/run/d.sock"} 1
# HELP timepipe_tracking_offset_seconds Estimated offset of the reference minus the local clock, still to be corrected.
# TYPE timepipe_tracking_offset_seconds gauge
timepipe_tracking_offset_seconds{tool="discipline",socket="/run/d.sock"} 2.5e-06
# HELP timepipe_tracking_rms_offset_seconds Long-term RMS of the offset.
# TYPE timepipe_tracking_rms_offset_seconds gauge
timepipe_tracking_rms_offset_seconds{tool="discipline",socket="/run/d.sock"} 1e-05
# HELP timepipe_tracking_frequency_ratio Frequency correction applied to the clock, as a ratio (1e-6 is 1 ppm; positive: sped up).
# TYPE timepipe_tracking_frequency_ratio gauge
timepipe_tracking_frequency_ratio{tool="discipline",socket="/run/d.sock"} -1.25e-05
# HELP timepipe_tracking_skew_ratio Error bound of the frequency estimate, as a ratio (1e-6 is 1 ppm).
# TYPE timepipe_tracking_skew_ratio gauge
timepipe_tracking_skew_ratio{tool="discipline",socket="/run/d.sock"} 2.5e-07
# HELP timepipe_tracking_root_delay_seconds Root delay to the primary reference.
# TYPE timepipe_tracking_root_delay_seconds gauge
timepipe_tracking_root_delay_seconds{tool="discipline",socket="/run/d.sock"} 0.004
# HELP timepipe_tracking_root_dispersion_seconds Root dispersion at the last update.
# TYPE timepipe_tracking_root_dispersion_seconds gauge
timepipe_tracking_root_dispersion_seconds{tool="discipline",socket="/run/d.sock"} 0.001
# HELP timepipe_tracking_root_distance_seconds Root distance at the last update: root delay / 2 + root dispersion.
# TYPE timepipe_tracking_root_distance_seconds gauge
timepipe_tracking_root_distance_seconds{tool="discipline",socket="/run/d.sock"} 0.003
# HELP timepipe_tracking_poll_seconds Poll interval the discipline wants.
# TYPE timepipe_tracking_poll_seconds gauge
timepipe_tracking_poll_seconds{tool="discipline",socket="/run/d.sock"} 16
# HELP timepipe_tracking_selected_sources Sources that survived selection.
# TYPE timepipe_tracking_selected_sources gauge
timepipe_tracking_selected_sources{tool="discipline",socket="/run/d.sock"} 2
# HELP timepipe_tracking_last_update_time_seconds Local clock time of the discipline's last update, seconds since 1970.
# TYPE timepipe_tracking_last_update_time_seconds gauge
timepipe_tracking_last_update_time_seconds{tool="discipline",socket="/run/d.sock"} 1.764999999e+09
# HELP timepipe_ntp_server_requests_total Datagrams the NTP server read.
# TYPE timepipe_ntp_server_requests_total counter
timepipe_ntp_server_requests_total{tool="ntp-serve",socket="/run/s.sock"} 10
# HELP timepipe_ntp_server_responses_total Responses the NTP server sent (basic, interleaved and NTS).
# TYPE timepipe_ntp_server_responses_total counter
timepipe_ntp_server_responses_total{tool="ntp-serve",socket="/run/s.sock"} 9
# HELP timepipe_ntp_server_kod_total Kiss-o'-Death responses the NTP server sent, by code.
# TYPE timepipe_ntp_server_kod_total counter
timepipe_ntp_server_kod_total{tool="ntp-serve",socket="/run/s.sock",code="RATE"} 1
# HELP timepipe_ntp_server_dropped_total Requests the NTP server dropped without an answer, by reason.
# TYPE timepipe_ntp_server_dropped_total counter
timepipe_ntp_server_dropped_total{tool="ntp-serve",socket="/run/s.sock",reason="rate"} 2
# HELP timepipe_stats_total A counter of a tool's stats record not exposed under a name of its own, by source and counter.
# TYPE timepipe_stats_total counter
timepipe_stats_total{tool="ntp-serve",socket="/run/s.sock",source="ntp-serve",counter="brand_new"} 3
)");
}

TEST(ObserveMetrics, RestartsCountChangesOfPidOrStart) {
    RestartTracker tracker;
    auto scrape = [&](std::vector<Scrape> s) {
        tracker.track(s);
        return s;
    };
    auto s = scrape({up("/a", tool("ntp-serve", 10, kT), {}), down("/b")});
    EXPECT_EQ(s[0].restarts, 0u);   // first sight is not a restart
    EXPECT_EQ(s[0].last_tool, "ntp-serve");
    EXPECT_EQ(s[1].restarts, 0u);
    EXPECT_EQ(s[1].last_tool, "");
    s = scrape({up("/a", tool("ntp-serve", 10, kT), {})});
    EXPECT_EQ(s[0].restarts, 0u);
    s = scrape({up("/a", tool("ntp-serve", 11, kT + 5), {})});   // new pid and start
    EXPECT_EQ(s[0].restarts, 1u);
    s = scrape({down("/a")});                                     // down: remembered, not counted
    EXPECT_EQ(s[0].restarts, 1u);
    EXPECT_EQ(s[0].last_tool, "ntp-serve");
    EXPECT_NE(render_metrics(s).find("timepipe_up{tool=\"ntp-serve\",socket=\"/a\"} 0\n"), std::string::npos);
    EXPECT_NE(render_metrics(s).find("timepipe_tool_restarts_total{tool=\"ntp-serve\",socket=\"/a\"} 1\n"),
              std::string::npos);
    s = scrape({up("/a", tool("ntp-serve", 11, kT + 5), {})});    // back, same process
    EXPECT_EQ(s[0].restarts, 1u);
    s = scrape({up("/a", tool("ntp-serve", 11, kT + 6), {})});    // same pid, new start: pid reused
    EXPECT_EQ(s[0].restarts, 2u);
    s = scrape({up("/a", tool("discipline", 11, kT + 6), {})});   // another tool on the socket
    EXPECT_EQ(s[0].restarts, 3u);
    EXPECT_EQ(s[0].last_tool, "discipline");
    EXPECT_EQ(tracker.restarts("/a"), 3u);
    EXPECT_EQ(tracker.restarts("/b"), 0u);
    EXPECT_EQ(tracker.restarts("/nowhere"), 0u);
    EXPECT_NE(render_metrics(s).find("timepipe_tool_restarts_total{tool=\"discipline\",socket=\"/a\"} 3\n"),
              std::string::npos);
}

TEST(ObserveMetrics, DownEndpoint) {
    std::vector<Scrape> s = {down("/run/timepipe/gone.sock")};
    EXPECT_EQ(render_metrics(s),
              "# HELP timepipe_up 1 if the tool's status socket answered this scrape with a valid snapshot, else 0.\n"
              "# TYPE timepipe_up gauge\n"
              "timepipe_up{tool=\"\",socket=\"/run/timepipe/gone.sock\"} 0\n");
    EXPECT_EQ(render_metrics({}), "");
}

TEST(ObserveMetrics, NewestTrackingAndLatestRecordWin) {
    Tracking old = tracking();
    old.source = "ntp://192.0.2.9:123";
    old.time = kT - 100'000'000'000;
    old.stratum = 5;
    Sample first = sample("ntp://192.0.2.1:123");
    Sample second = first;
    second.offset = 0.5;
    // Two records of one (type, source) in one snapshot: the later one is the newest.
    std::vector<Scrape> s = {up("/d", tool("discipline"), {to_record(tracking()), to_record(old), to_record(first),
                                                           to_record(second)})};
    std::string text = render_metrics(s);
    EXPECT_EQ(series(text, "timepipe_tracking_stratum"),
              std::vector<std::string>{"timepipe_tracking_stratum{tool=\"discipline\",socket=\"/d\"} 3"});
    EXPECT_EQ(series(text, "timepipe_tracking_info").size(), 1u);
    EXPECT_EQ(series(text, "timepipe_source_offset_seconds"),
              std::vector<std::string>{
                  "timepipe_source_offset_seconds{tool=\"discipline\",socket=\"/d\",source=\"ntp://192.0.2.1:123\"} 0.5"});
}

TEST(ObserveMetrics, EndpointGivenTwiceCountsOnce) {
    std::vector<Scrape> s = {up("/a", tool("ntp-query"), {to_record(sample("ntp://x"))}),
                             up("/a", tool("ntp-query"), {to_record(sample("ntp://x"))}), down("/a")};
    std::string text = render_metrics(s);
    EXPECT_EQ(series(text, "timepipe_up").size(), 1u);
    EXPECT_EQ(series(text, "timepipe_source_offset_seconds").size(), 1u);
}

TEST(ObserveMetrics, TwoInstancesOfOneToolDifferBySocket) {
    std::vector<Scrape> s = {up("/v4.sock", tool("ntp-serve", 1), {to_record(stats("ntp-serve", {{"received", 1}}))}),
                             up("/v6.sock", tool("ntp-serve", 2), {to_record(stats("ntp-serve", {{"received", 2}}))})};
    EXPECT_EQ(series(render_metrics(s), "timepipe_ntp_server_requests_total"),
              (std::vector<std::string>{"timepipe_ntp_server_requests_total{tool=\"ntp-serve\",socket=\"/v4.sock\"} 1",
                                        "timepipe_ntp_server_requests_total{tool=\"ntp-serve\",socket=\"/v6.sock\"} 2"}));
}

TEST(ObserveMetrics, CountersOfOtherSourcesAndToolsAreGeneric) {
    // A stats record of ntp-serve under another source, and a tool nobody named: all kept.
    std::vector<Scrape> s = {
        up("/s", tool("ntp-serve"), {to_record(stats("listener-2", {{"received", 5}}))}),
        up("/w", tool("webntp-serve"), {to_record(stats("webntp-serve", {{"http_json", 18446744073709551615u}}))})};
    std::string text = render_metrics(s);
    EXPECT_TRUE(series(text, "timepipe_ntp_server_requests_total").empty());
    EXPECT_EQ(series(text, "timepipe_stats_total"),
              (std::vector<std::string>{
                  "timepipe_stats_total{tool=\"ntp-serve\",socket=\"/s\",source=\"listener-2\",counter=\"received\"} 5",
                  "timepipe_stats_total{tool=\"webntp-serve\",socket=\"/w\",source=\"webntp-serve\",counter=\"http_json\"} "
                  "18446744073709551615"}));
}

TEST(ObserveMetrics, UnreadableRecordsAreCountedNotShown) {
    std::vector<Scrape> s = {up("/q", tool("ntp-query"),
                                {Record{{"v", 1}, {"type", "sample"}, {"source", "ntp://x"}, {"time", "soon"}},
                                 Record{{"v", 1}, {"type", "tracking"}, {"source", "local"}},
                                 Record{{"v", 1}, {"type", "something_new"}, {"source", "x"}, {"time", 1}}})};
    std::string text = render_metrics(s);
    EXPECT_EQ(series(text, "timepipe_snapshot_unreadable_records"),
              std::vector<std::string>{"timepipe_snapshot_unreadable_records{tool=\"ntp-query\",socket=\"/q\"} 2"});
    EXPECT_TRUE(series(text, "timepipe_source_offset_seconds").empty());
    EXPECT_TRUE(series(text, "timepipe_tracking_stratum").empty());
}

TEST(ObserveMetrics, HostileNamesAreEscaped) {
    std::vector<Scrape> s = {up("/q\"\n\\", tool("ntp\n\"query\\"), {to_record(sample("ntp://\"a\"\\b\nc"))})};
    std::string text = render_metrics(s);
    EXPECT_EQ(series(text, "timepipe_source_stratum"),
              std::vector<std::string>{"timepipe_source_stratum{tool=\"ntp\\n\\\"query\\\\\",socket=\"/q\\\"\\n\\\\\","
                                       "source=\"ntp://\\\"a\\\"\\\\b\\nc\"} 2"});
}

TEST(ObserveMetrics, FamiliesAreValidAndEveryOneIsWritten) {
    std::set<std::string> names;
    for (const auto& f : metric_families()) {
        EXPECT_TRUE(valid_metric_name(f.name)) << f.name;
        EXPECT_TRUE(f.name.starts_with("timepipe_")) << f.name;
        EXPECT_EQ(f.type == MetricType::counter, f.name.ends_with("_total")) << f.name;
        EXPECT_FALSE(f.help.empty()) << f.name;
        EXPECT_TRUE(names.insert(std::string(f.name)).second) << f.name;
    }
    // The rich snapshot has something for every family, in the order metric_families() gives.
    std::vector<std::string> written;
    std::istringstream in(render_metrics(rich()));
    for (std::string line; std::getline(in, line);)
        if (line.starts_with("# TYPE ")) written.push_back(line.substr(7, line.find(' ', 7) - 7));
    std::vector<std::string> all;
    for (const auto& f : metric_families()) all.emplace_back(f.name);
    EXPECT_EQ(written, all);
}

TEST(ObserveMetrics, RichExposition) {
    std::string text = render_metrics(rich());
    // Spot checks of what promtool sees (tests/973-metrics-exposition.bats).
    EXPECT_NE(text.find("timepipe_up{tool=\"pps-capture\",socket=\"/run/timepipe/pps/status.sock\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("timepipe_tool_restarts_total{tool=\"pps-capture\",socket=\"/run/timepipe/pps/status.sock\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("source=\"ntp://\\\"quoted\\\"\\\\back\\nslash:123\""), std::string::npos);
    EXPECT_NE(text.find("source=\"gps://Zürich/ℹ/😀\""), std::string::npos);
    EXPECT_NE(text.find("timepipe_source_verified{tool=\"ntp-query\",socket=\"/run/timepipe/client/ntp-query.sock\","
                        "source=\"roughtime://time.example:2002\"} 0\n"),
              std::string::npos);
    EXPECT_NE(text.find("timepipe_clock_steps_total{tool=\"clockadj\",socket=\"/run/timepipe/clockadj.sock\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("timepipe_snapshot_unreadable_records{tool=\"gps-reader\",socket=\"/run/timepipe/gps/status.sock\"} 1\n"),
              std::string::npos);
    if (const char* path = std::getenv("TIMEPIPE_EXPOSITION_OUT")) {
        std::ofstream out(path, std::ios::binary);
        out << text;
        ASSERT_TRUE(out.good()) << path;
    }
}
