// libtime/stream/records: the status records (status, source_state) a status socket answers
// with — round trips through CBOR and the checks every reader (timepipe-status, time-metrics)
// relies on.
#include <gtest/gtest.h>

#include <string>

#include "libtime/stream/records.hpp"
#include "tests/unit/stream/sample_fixtures.hpp"

using namespace timepipe;
using timepipe::test::error_of;
using timepipe::test::through_cbor;

namespace {

ToolStatus full_status() {
    ToolStatus s;
    s.source = "ntp-serve";
    s.time = 1'765'000'000'123'456'789;
    s.pid = 4242;
    s.started = 1'765'000'000'000'000'000;
    s.version = "0.1";
    s.instance = "/run/timepipe/ntp-serve/status.sock";
    return s;
}

SourceState full_state() {
    SourceState s;
    s.source = "ntp://192.0.2.1:123";
    s.time = 1'765'000'000'000'000'000;
    s.state = "*";
    s.offset = -12e-6;
    s.delay = 250e-6;
    s.jitter = 3e-6;
    return s;
}

}  // namespace

TEST(StatusRecords, ToolStatusRoundTripAndChecks) {
    auto back = through_cbor<ToolStatus>(to_record(full_status()));
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, full_status());
    Record r = to_record(full_status());
    r["pid"] = 0;
    EXPECT_EQ(error_of<ToolStatus>(r), "status: \"pid\": 0 is not in 1..9223372036854775807");
    r = to_record(full_status());
    r.erase("version");
    EXPECT_EQ(error_of<ToolStatus>(r), "status: missing \"version\"");
    ToolStatus bare = full_status();
    bare.instance.reset();
    EXPECT_EQ(*through_cbor<ToolStatus>(to_record(bare)), bare);
}

TEST(StatusRecords, SourceStateRoundTripAndEveryMark) {
    for (char mark : SourceState::kStates) {
        SourceState s = full_state();
        s.state = std::string(1, mark);
        if (mark == '?') s.reason = "unreachable";
        auto back = through_cbor<SourceState>(to_record(s));
        ASSERT_TRUE(back) << mark << ": " << back.error().what;
        EXPECT_EQ(*back, s);
    }
    Record r = to_record(full_state());
    r["state"] = "#";
    EXPECT_EQ(error_of<SourceState>(r), "source_state: \"state\": \"#\" is not one of * + - x ~ ?");
    r["state"] = "*+";
    EXPECT_EQ(error_of<SourceState>(r), "source_state: \"state\": \"*+\" is not one of * + - x ~ ?");
    r = to_record(full_state());
    r["delay"] = -1.0;
    EXPECT_EQ(error_of<SourceState>(r), "source_state: \"delay\": negative");
}
