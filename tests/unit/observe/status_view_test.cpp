// libtime/observe/status_view: sources joined across tools (sample from ntp-query, mark from
// discipline, counters per source), tracking and refusal, each server kind's counters, other
// stats kept generically; the text view's numbers, sections, width and escaping; the JSON
// object's keys and exact numbers.
#include "libtime/observe/status_view.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/unit/stream/sample_fixtures.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

constexpr UnixNanos kNow = 1'700'000'100'000'000'000;

Snapshot snapshot(const std::string& tool, const std::string& endpoint, std::initializer_list<Record> records) {
    SnapshotStore store({tool, 0, 100, kNow - 3600 * kNanosPerSecond, "0.1", endpoint});
    for (const auto& r : records) store.publish(r);
    auto snap = decode_snapshot(store.encode(kNow - kNanosPerSecond), endpoint);
    EXPECT_TRUE(snap) << snap.error().what;
    return *snap;
}

Sample sample_at(const std::string& source, UnixNanos time, double offset) {
    Sample s = test::full_sample();
    s.source = source;
    s.time = time;
    s.offset = offset;
    s.kod.reset();
    return s;
}

Stats stats_of(const std::string& source, Counters c) {
    return Stats{source, kNow - 2 * kNanosPerSecond, std::move(c)};
}

Tracking discipline_tracking() {
    Tracking t;
    t.source = "ntp://192.0.2.1:123";
    t.time = kNow - 10 * kNanosPerSecond;
    t.stratum = 3;
    t.refid = "192.0.2.1";
    t.root_delay = 0.0012;
    t.root_dispersion = 0.0003;
    t.offset = -2.5e-6;
    t.frequency = -7.7071;
    t.skew = 0.741;
    t.leap = 0;
    t.synchronised = true;
    t.poll = 6;
    t.rms_offset = 1.2e-6;
    t.sources = 2;
    return t;
}

SourceState state_of(const std::string& source, const char* mark, std::optional<std::string> reason = {}) {
    SourceState s;
    s.source = source;
    s.time = kNow - 5 * kNanosPerSecond;
    s.state = mark;
    s.offset = 1e-6;
    s.delay = 2e-4;
    s.jitter = 3e-6;
    s.reason = std::move(reason);
    return s;
}

std::vector<Snapshot> installation() {
    return {
        snapshot("ntp-query", "/run/timepipe/client/ntp-query.sock",
                 {to_record(sample_at("ntp://192.0.2.1:123", kNow - 5 * kNanosPerSecond, -0.000123)),
                  to_record(sample_at("ntp://192.0.2.2:123", kNow - 7 * kNanosPerSecond, 0.0042)),
                  to_record(stats_of("ntp://192.0.2.1:123", {{"sent", 9}, {"received", 8}, {"timeouts", 1}}))}),
        snapshot("discipline", "/run/timepipe/client/discipline.sock",
                 {to_record(state_of("ntp://192.0.2.1:123", "*")),
                  to_record(state_of("ntp://192.0.2.2:123", "x", "falseticker: outside the intersection")),
                  to_record(state_of("ntp://192.0.2.3:123", "?", "kiss-o'-death RATE")),
                  to_record(discipline_tracking()),
                  to_record(Refusal{"discipline", kNow - 20 * kNanosPerSecond, "no majority", {}, {}, {}})}),
        snapshot("ntp-serve", "/run/timepipe/server/status.sock",
                 {to_record(stats_of("ntp-serve", {{"received", 1000},
                                                   {"answered", 990},
                                                   {"kod_rate", 3},
                                                   {"kod_deny", 1},
                                                   {"kod_rstr", 0},
                                                   {"dropped_rate", 4},
                                                   {"dropped_malformed", 2},
                                                   {"nts", 50},
                                                   {"nts_nak", 1},
                                                   {"dropped_nts", 0}}))}),
        snapshot("roughtime-serve", "/run/timepipe/roughtime.sock",
                 {to_record(stats_of("roughtime-serve", {{"received", 40},
                                                         {"answered", 38},
                                                         {"batches", 20},
                                                         {"signatures", 21},
                                                         {"dropped_short", 1},
                                                         {"tcp_refused", 1}}))}),
        snapshot("nts-ke", "/run/timepipe/nts-ke.sock",
                 {to_record(stats_of("nts-ke", {{"connections", 12},
                                                {"handshakes", 10},
                                                {"tls_failures", 1},
                                                {"errors_sent", 1},
                                                {"timeouts", 0},
                                                {"cookies", 80},
                                                {"key_rotations", 2}}))}),
        snapshot("gps-reader", "/run/timepipe/gps.sock",
                 {to_record(stats_of("gps-reader", {{"sentences", 77}})),
                  Record{{"v", 1}, {"type", "gps_fix"}, {"source", "gps:///dev/ttyS0"}, {"time", kNow}}}),
    };
}

std::size_t longest_line(const std::string& text) {
    std::istringstream in(text);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) n = std::max(n, line.size());
    return n;
}

}  // namespace

TEST(ObserveStatusView, JoinsSourcesAcrossTools) {
    auto snaps = installation();
    auto v = build_status_view(snaps, {}, kNow);
    ASSERT_EQ(v.sources.size(), 3u);
    const auto& a = v.sources[0];
    EXPECT_EQ(a.name, "ntp://192.0.2.1:123");
    ASSERT_TRUE(a.sample && a.state);
    EXPECT_EQ(a.sample->offset, -0.000123);
    EXPECT_EQ(a.sample_tool, "ntp-query");
    EXPECT_EQ(a.state->state, "*");
    EXPECT_EQ(a.counters, (Counters{{"sent", 9}, {"received", 8}, {"timeouts", 1}}));
    EXPECT_EQ(v.sources[1].state->state, "x");
    EXPECT_FALSE(v.sources[2].sample);   // a source discipline knows and no tool sampled here
    EXPECT_EQ(v.sources[2].state->reason, "kiss-o'-death RATE");
    ASSERT_TRUE(v.tracking);
    EXPECT_EQ(*v.tracking, discipline_tracking());
    EXPECT_EQ(v.tracking_tool, "discipline");
    ASSERT_TRUE(v.refusal);
    EXPECT_EQ(v.refusal->reason, "no majority");
    ASSERT_EQ(v.servers.size(), 1u);
    EXPECT_EQ(v.servers[0].endpoint, "/run/timepipe/server/status.sock");
    ASSERT_EQ(v.roughtime.size(), 1u);
    ASSERT_EQ(v.nts_ke.size(), 1u);
    ASSERT_EQ(v.stats.size(), 1u);
    EXPECT_EQ(v.stats[0].tool, "gps-reader");
    ASSERT_EQ(v.records.size(), 1u);
    EXPECT_EQ(v.records[0].first, "gps-reader");
    ASSERT_EQ(v.tools.size(), 6u);
    EXPECT_EQ(v.tools[0].status.pid, 100);
}

TEST(ObserveStatusView, TheNewestSampleOfASourceWins) {
    std::vector<Snapshot> snaps = {
        snapshot("ntp-query", "a", {to_record(sample_at("ntp://x:123", kNow - 50, 0.5))}),
        snapshot("ntp-query", "b", {to_record(sample_at("ntp://x:123", kNow - 10, 0.25))}),
        snapshot("ntp-query", "c", {to_record(sample_at("ntp://x:123", kNow - 30, 0.125))}),
    };
    auto v = build_status_view(snaps, {}, kNow);
    ASSERT_EQ(v.sources.size(), 1u);
    EXPECT_EQ(v.sources[0].sample->offset, 0.25);
}

TEST(ObserveStatusView, NtpServerSummary) {
    auto s = summarise_ntp_server({{"received", 1000}, {"answered", 990}, {"kod_rate", 3}, {"kod_deny", 1},
                                   {"dropped_rate", 4}, {"dropped_malformed", 2}, {"nts", 50}, {"nts_nak", 1},
                                   {"dropped_mode6", UINT64_MAX}});
    EXPECT_EQ(s.requests, 1000u);
    EXPECT_EQ(s.answered, 990u);
    EXPECT_EQ(s.kod, 4u);
    EXPECT_EQ(s.rate_limited, 7u);
    EXPECT_EQ(s.nts, 50u);
    EXPECT_EQ(s.nts_nak, 1u);
    EXPECT_EQ(s.dropped, UINT64_MAX);   // saturates, never wraps
}

TEST(ObserveStatusView, TextShowsTheNumbersWithin79Columns) {
    auto snaps = installation();
    auto v = build_status_view(snaps, {}, kNow);
    const std::string text = render_text(v, Section::all, false);
    EXPECT_LE(longest_line(text), 79u) << text;
    // The sources table: the mark, the newest sample's offset and delay, reach in octal.
    EXPECT_NE(text.find("*192.0.2.1       192.0.2.7       2    5   64   377  420us  -123us"), std::string::npos) << text;
    EXPECT_NE(text.find("x192.0.2.2 "), std::string::npos) << text;
    EXPECT_NE(text.find("-123us"), std::string::npos) << text;
    EXPECT_NE(text.find("+4200us"), std::string::npos) << text;
    EXPECT_NE(text.find("377"), std::string::npos) << text;
    EXPECT_NE(text.find("?ntp://192.0.2.3:123  (no sample)"), std::string::npos) << text;
    EXPECT_NE(text.find("Frequency       : 7.707 ppm fast\n"), std::string::npos) << text;
    EXPECT_NE(text.find("System time     : 2500ns fast of NTP time\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Leap status     : Normal\n"), std::string::npos) << text;
    EXPECT_NE(text.find("Last refusal    : no majority\n"), std::string::npos) << text;
    // ntp-serve: requests answered KoD rate-limited NTS NTS-NAK dropped
    EXPECT_NE(text.find("ntp-serve         1000      990        4        7       50        1        6\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("roughtime-ser       40       38       20       21        2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("nts-ke              12       10        2       80        2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("gps-reader (gps-reader): sentences 77\n"), std::string::npos) << text;
    EXPECT_NE(text.find("ntp-serve             100    3599s  0.1\n"), std::string::npos) << text;
    // Only with -v: the legend, the reasons and the sockets.
    EXPECT_EQ(text.find("falseticker"), std::string::npos);
    const std::string verbose = render_text(v, Section::all, true);
    EXPECT_LE(longest_line(verbose), 79u) << verbose;
    EXPECT_NE(verbose.find("Selection mark"), std::string::npos);
    EXPECT_NE(verbose.find("    ntp://192.0.2.2:123: x falseticker: outside the intersection\n"), std::string::npos)
        << verbose;
    EXPECT_NE(verbose.find("received 8 sent 9 timeouts 1"), std::string::npos) << verbose;
    EXPECT_NE(verbose.find("/run/timepipe/server/status.sock"), std::string::npos);
}

TEST(ObserveStatusView, SectionsAlone) {
    auto snaps = installation();
    auto v = build_status_view(snaps, {}, kNow);
    const std::string sources = render_text(v, Section::sources, false);
    EXPECT_EQ(sources.rfind("Sources (3)\n", 0), 0u);
    EXPECT_EQ(sources.find("Tracking"), std::string::npos);
    const std::string tracking = render_text(v, Section::tracking, false);
    EXPECT_EQ(tracking.rfind("Tracking\n", 0), 0u);
    EXPECT_EQ(tracking.find("NTP server"), std::string::npos);
    EXPECT_EQ(render_text(v, Section::servers, false).rfind("NTP server", 0), 0u);
    EXPECT_EQ(render_text(v, Section::tools, false).rfind("Tool ", 0), 0u);
    EXPECT_EQ(parse_section("sources"), Section::sources);
    EXPECT_EQ(parse_section("servers"), Section::servers);
    EXPECT_EQ(parse_section("tracking"), Section::tracking);
    EXPECT_EQ(parse_section("tools"), Section::tools);
    EXPECT_EQ(parse_section("all"), Section::all);
    EXPECT_FALSE(parse_section("/run/timepipe"));
}

TEST(ObserveStatusView, NothingAnsweredSaysSo) {
    auto v = build_status_view({}, {{"/x.sock", "connection refused", 69}}, kNow);
    const std::string text = render_text(v, Section::all, true);
    EXPECT_NE(text.find("Sources (0)\n  none\n"), std::string::npos) << text;
    EXPECT_NE(text.find("no tracking record"), std::string::npos);
    EXPECT_NE(text.find("  none answered\n"), std::string::npos);
    auto j = to_json(v);
    ASSERT_EQ(j["unreachable"].size(), 1u);
    EXPECT_EQ(j["unreachable"][0]["endpoint"], "/x.sock");
    EXPECT_EQ(j["unreachable"][0]["error"], "connection refused");
    EXPECT_EQ(j["unreachable"][0]["exit_code"], 69);
    EXPECT_TRUE(j["tracking"].is_null());
}

TEST(ObserveStatusView, JsonKeysAndExactNumbers) {
    auto snaps = installation();
    auto v = build_status_view(snaps, {}, kNow);
    auto j = nlohmann::ordered_json::parse(render_json(v));
    std::vector<std::string> keys;
    for (const auto& item : j.items()) keys.push_back(item.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"version", "time", "tools", "sources", "tracking", "refusal", "servers",
                                              "roughtime", "nts_ke", "stats", "records", "unreachable"}));
    EXPECT_EQ(j["time"], kNow);
    const auto& s0 = j["sources"][0];
    EXPECT_EQ(s0["source"], "ntp://192.0.2.1:123");
    EXPECT_EQ(s0["mark"], "*");
    EXPECT_TRUE(s0["reason"].is_null());
    EXPECT_EQ(s0["sample"]["offset"].get<double>(), -0.000123);
    EXPECT_EQ(s0["sample"]["reach"], 0377);
    EXPECT_EQ(s0["sample_tool"], "ntp-query");
    EXPECT_DOUBLE_EQ(s0["age"].get<double>(), 5.0);
    EXPECT_EQ(s0["counters"]["sent"], 9);
    EXPECT_EQ(s0["selection"]["jitter"].get<double>(), 3e-6);
    EXPECT_EQ(j["sources"][2]["reason"], "kiss-o'-death RATE");
    EXPECT_TRUE(j["sources"][2]["sample"].is_null());
    EXPECT_EQ(j["tracking"]["frequency"].get<double>(), -7.7071);
    EXPECT_EQ(j["tracking"]["tool"], "discipline");
    EXPECT_DOUBLE_EQ(j["tracking"]["age"].get<double>(), 10.0);
    EXPECT_EQ(j["refusal"]["reason"], "no majority");
    const auto& srv = j["servers"][0];
    EXPECT_EQ(srv["requests"], 1000);
    EXPECT_EQ(srv["kod"], 4);
    EXPECT_EQ(srv["rate_limited"], 7);
    EXPECT_EQ(srv["dropped"], 6);
    EXPECT_EQ(srv["counters"]["kod_rate"], 3);
    EXPECT_EQ(j["roughtime"][0]["signatures"], 21);
    EXPECT_EQ(j["roughtime"][0]["refused"], 2);
    EXPECT_EQ(j["nts_ke"][0]["handshakes"], 10);
    EXPECT_EQ(j["nts_ke"][0]["failures"], 2);
    EXPECT_EQ(j["stats"][0]["counters"]["sentences"], 77);
    EXPECT_EQ(j["records"][0]["type"], "gps_fix");
    EXPECT_EQ(j["records"][0]["tool"], "gps-reader");
    EXPECT_EQ(j["tools"][2]["tool"], "ntp-serve");
    EXPECT_EQ(j["tools"][2]["pid"], 100);
    EXPECT_DOUBLE_EQ(j["tools"][2]["uptime"].get<double>(), 3599.0);
    EXPECT_TRUE(j["unreachable"].empty());
}

TEST(ObserveStatusView, HostileStringsAreEscapedInText) {
    std::vector<Snapshot> snaps = {
        snapshot("evil\x1b[2J", "e", {to_record(sample_at("ntp://\x1b]0;pwned\x07:123", kNow, 0.0)),
                                      to_record(stats_of("x\x1b", {{"k\x9b", 1}}))}),
    };
    auto v = build_status_view(snaps, {{"/bad\xff.sock", "nope", 69}}, kNow);
    for (bool verbose : {false, true}) {
        const std::string text = render_text(v, Section::all, verbose);
        EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
        EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
    }
    // JSON: valid UTF-8 whatever the endpoint's bytes.
    const std::string json = render_json(v);
    EXPECT_TRUE(nlohmann::json::accept(json)) << json;
}
