// libtime/observe/snapshot: the store keeps the newest record per (type, source), encodes the
// status record first, is safe to publish to while another thread encodes; decode_snapshot
// accepts exactly what encode produces and names the byte of what it refuses.
#include "libtime/observe/snapshot.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/unit/stream/sample_fixtures.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

ToolStatus who() {
    ToolStatus s;
    s.source = "ntp-serve";
    s.pid = 4242;
    s.started = 1700000000000000000;
    s.version = "0.1";
    s.instance = "/run/timepipe/ntp-serve/status.sock";
    return s;
}

Sample full_sample_at(std::string source, UnixNanos time, double offset) {
    Sample s = test::full_sample();
    s.source = std::move(source);
    s.time = time;
    s.offset = offset;
    return s;
}

std::vector<std::byte> cat(std::initializer_list<Record> records) {
    std::vector<std::byte> out;
    for (const auto& r : records) EXPECT_TRUE(encode_record(r, out));
    return out;
}

}  // namespace

TEST(ObserveSnapshot, EmptyStoreIsTheStatusRecordAlone) {
    SnapshotStore store(who());
    auto bytes = store.encode(1700000001000000000);
    auto snap = decode_snapshot(bytes, "/x.sock");
    ASSERT_TRUE(snap) << snap.error().what;
    EXPECT_EQ(snap->endpoint, "/x.sock");
    ToolStatus expect = who();
    expect.time = 1700000001000000000;
    EXPECT_EQ(snap->tool, expect);
    EXPECT_TRUE(snap->records.empty());
}

TEST(ObserveSnapshot, KeepsTheNewestPerTypeAndSourceOrderedByTypeThenSource) {
    SnapshotStore store(who());
    store.publish(to_record(full_sample_at("ntp://b:123", 10, 0.5)));
    store.publish(to_record(full_sample_at("ntp://a:123", 11, 0.25)));
    store.publish(to_record(full_sample_at("ntp://b:123", 12, -0.5)));   // replaces the first
    Stats stats;
    stats.source = "ntp-serve";
    stats.time = 13;
    stats.counters = {{"requests", 7}};
    store.publish(to_record(stats));
    auto snap = decode_snapshot(store.encode(99), "s");
    ASSERT_TRUE(snap) << snap.error().what;
    ASSERT_EQ(snap->records.size(), 3u);
    EXPECT_EQ(snap->records[0], to_record(full_sample_at("ntp://a:123", 11, 0.25)));
    EXPECT_EQ(snap->records[1], to_record(full_sample_at("ntp://b:123", 12, -0.5)));
    EXPECT_EQ(snap->records[2], to_record(stats));
    EXPECT_EQ(snap->tool.time, 99);
}

TEST(ObserveSnapshot, IgnoresRecordsWithoutTypeOrSourceAndForeignStatus) {
    SnapshotStore store(who());
    store.publish(Record{{"v", 1}, {"type", "sample"}});
    store.publish(Record{{"v", 1}, {"source", "x"}});
    store.publish(Record::array());
    ToolStatus other = who();
    other.source = "impostor";
    store.publish(to_record(other));
    auto snap = decode_snapshot(store.encode(1), "s");
    ASSERT_TRUE(snap);
    EXPECT_EQ(snap->tool.source, "ntp-serve");
    EXPECT_TRUE(snap->records.empty());
}

TEST(ObserveSnapshot, UnknownTypesAreKept) {
    Record future{{"v", 1}, {"type", "quantum_fix"}, {"source", "q"}, {"time", 5}, {"x", 1.5}};
    SnapshotStore store(who());
    store.publish(future);
    auto snap = decode_snapshot(store.encode(1), "s");
    ASSERT_TRUE(snap);
    ASSERT_EQ(snap->records.size(), 1u);
    EXPECT_EQ(snap->records[0], future);
}

TEST(ObserveSnapshot, DecodeRefusesWhatIsNotASnapshot) {
    ToolStatus status = who();
    status.time = 1;
    Record s = to_record(full_sample_at("ntp://a:1", 1, 0));
    auto error = [](std::vector<std::byte> bytes) {
        auto snap = decode_snapshot(bytes, "s");
        if (snap) return std::string("no error");
        EXPECT_EQ(snap.error().exit_code, EX_DATAERR);
        return snap.error().what;
    };
    EXPECT_EQ(error({}), "empty snapshot: no status record");
    EXPECT_EQ(error(cat({s})), "byte 0: first record is not a status record");
    auto status_len = cat({to_record(status)}).size();
    EXPECT_EQ(error(cat({to_record(status), to_record(status)})),
              "byte " + std::to_string(status_len) + ": a second status record");
    Record no_time = s;
    no_time.erase("time");
    EXPECT_EQ(error(cat({to_record(status), no_time})),
              "byte " + std::to_string(status_len) + ": sample: \"time\": not an integer");
    Record no_source = s;
    no_source.erase("source");
    EXPECT_EQ(error(cat({to_record(status), no_source})),
              "byte " + std::to_string(status_len) + ": sample: no \"source\"");
    Record bad_pid = to_record(status);
    bad_pid["pid"] = 0;
    EXPECT_NE(error(cat({bad_pid})).find("byte 0: status: \"pid\""), std::string::npos);
    // A snapshot cut short: the last record incomplete.
    auto whole = cat({to_record(status), s});
    whole.pop_back();
    EXPECT_NE(error(whole), "no error");
}

TEST(ObserveSnapshot, PublishWhileEncodingFromAnotherThread) {
    SnapshotStore store(who());
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) {
            auto snap = decode_snapshot(store.encode(1), "s");
            ASSERT_TRUE(snap) << snap.error().what;
            ASSERT_LE(snap->records.size(), 8u);
        }
    });
    for (int i = 0; i < 2000; ++i)
        store.publish(to_record(full_sample_at("ntp://s" + std::to_string(i % 8) + ":123", i, i * 1e-6)));
    done = true;
    reader.join();
    auto snap = decode_snapshot(store.encode(1), "s");
    ASSERT_TRUE(snap);
    ASSERT_EQ(snap->records.size(), 8u);
    EXPECT_EQ(snap->records[7]["time"], 1999);
}
