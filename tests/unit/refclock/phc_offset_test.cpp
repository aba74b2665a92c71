// libtime/refclock/phc_offset: PTP_SYS_OFFSET_PRECISE, _EXTENDED and basic PTP_SYS_OFFSET results
// as fixed byte vectors decoded into readings and offsets (the min-window choice, basic's shared
// neighbours), strict decoding, and measure_phc's fallback through a fake ioctl layer.
#include "libtime/refclock/phc_offset.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

constexpr UnixNanos kSys = 1'700'000'000'000'000'000;  // 2023-11-14
constexpr std::int64_t kTai = 37'000'000'000;           // a PHC kept in TAI runs 37 s ahead

void put_time(std::vector<std::byte>& out, std::size_t at, std::int64_t sec, std::uint32_t nsec) {
    std::memcpy(out.data() + at, &sec, 8);
    std::memcpy(out.data() + at + 8, &nsec, 4);
}

// Hand-laid structs, field by field as include/uapi/linux/ptp_clock.h has them.
std::vector<std::byte> precise_vector() {
    std::vector<std::byte> v(64);
    put_time(v, 0, 1'700'000'037, 500);          // device (TAI)
    put_time(v, 16, 1'700'000'000, 400);         // sys_realtime
    put_time(v, 32, 123, 0);                     // sys_monoraw (unused)
    return v;
}

std::vector<std::byte> extended_vector() {
    std::vector<std::byte> v(1216);
    std::uint32_t n = 3;
    std::memcpy(v.data(), &n, 4);
    // {sys_before, phc, sys_after} x 3; windows 3000, 1000 and 1000 ns: the first 1000 wins.
    put_time(v, 16 + 0 * 48, 1'700'000'000, 0);
    put_time(v, 16 + 0 * 48 + 16, 1'700'000'037, 1'000);
    put_time(v, 16 + 0 * 48 + 32, 1'700'000'000, 3'000);
    put_time(v, 16 + 1 * 48, 1'700'000'000, 10'000);
    put_time(v, 16 + 1 * 48 + 16, 1'700'000'037, 10'700);
    put_time(v, 16 + 1 * 48 + 32, 1'700'000'000, 11'000);
    put_time(v, 16 + 2 * 48, 1'700'000'000, 20'000);
    put_time(v, 16 + 2 * 48 + 16, 1'700'000'037, 20'100);
    put_time(v, 16 + 2 * 48 + 32, 1'700'000'000, 21'000);
    return v;
}

std::vector<std::byte> basic_vector() {
    std::vector<std::byte> v(832);
    std::uint32_t n = 2;
    std::memcpy(v.data(), &n, 4);
    // sys, phc, sys, phc, sys: windows 2000 and 600 ns (the second one wins).
    put_time(v, 16 + 0 * 16, 1'700'000'000, 0);
    put_time(v, 16 + 1 * 16, 1'700'000'037, 900);
    put_time(v, 16 + 2 * 16, 1'700'000'000, 2'000);
    put_time(v, 16 + 3 * 16, 1'700'000'036, 999'999'900);  // PHC 100 ns before a second
    put_time(v, 16 + 4 * 16, 1'700'000'000, 2'600);
    return v;
}

}  // namespace

TEST(RefclockPhcOffset, PreciseIsACrossTimestamp) {
    auto r = decode_sys_offset(PhcMethod::precise, precise_vector());
    ASSERT_TRUE(r) << r.error().what;
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0], (PhcReading{kSys + 400, kSys + kTai + 500, kSys + 400}));
    auto m = choose_reading(PhcMethod::precise, *r);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->method, PhcMethod::precise);
    EXPECT_EQ(m->time, kSys + 400);
    EXPECT_EQ(m->offset_ns, kTai + 100);
    EXPECT_EQ(m->delay_ns, 0);
    EXPECT_EQ(m->readings, 1);
}

TEST(RefclockPhcOffset, ExtendedTakesTheNarrowestWindow) {
    auto r = decode_sys_offset(PhcMethod::extended, extended_vector());
    ASSERT_TRUE(r) << r.error().what;
    ASSERT_EQ(r->size(), 3u);
    EXPECT_EQ((*r)[1], (PhcReading{kSys + 10'000, kSys + kTai + 10'700, kSys + 11'000}));
    auto m = choose_reading(PhcMethod::extended, *r);
    ASSERT_TRUE(m);
    // Reading 1 (window 1000, first of the two narrowest): midpoint 10500, PHC 10700.
    EXPECT_EQ(m->time, kSys + 10'500);
    EXPECT_EQ(m->offset_ns, kTai + 200);
    EXPECT_EQ(m->delay_ns, 1'000);
    EXPECT_EQ(m->readings, 3);
}

TEST(RefclockPhcOffset, BasicSharesNeighbours) {
    auto r = decode_sys_offset(PhcMethod::basic, basic_vector());
    ASSERT_TRUE(r) << r.error().what;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0], (PhcReading{kSys, kSys + kTai + 900, kSys + 2'000}));
    EXPECT_EQ((*r)[1], (PhcReading{kSys + 2'000, kSys + kTai - 100, kSys + 2'600}));
    auto m = choose_reading(PhcMethod::basic, *r);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->time, kSys + 2'300);
    EXPECT_EQ(m->offset_ns, kTai - 2'400);
    EXPECT_EQ(m->delay_ns, 600);
}

TEST(RefclockPhcOffset, StrictDecoding) {
    auto r = decode_sys_offset(PhcMethod::extended, std::vector<std::byte>(832));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ptp_sys_offset_extended: 832 bytes, expected 1216");
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);

    auto zero = basic_vector();
    std::memset(zero.data(), 0, 4);
    r = decode_sys_offset(PhcMethod::basic, zero);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ptp_sys_offset_basic: n_samples 0 is not in 1..25");

    auto many = extended_vector();
    std::uint32_t n = 26;
    std::memcpy(many.data(), &n, 4);
    r = decode_sys_offset(PhcMethod::extended, many);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ptp_sys_offset_extended: n_samples 26 is not in 1..25");

    auto bad_nsec = precise_vector();
    put_time(bad_nsec, 0, 1, 1'000'000'000);
    r = decode_sys_offset(PhcMethod::precise, bad_nsec);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ptp_sys_offset_precise: nsec 1000000000 is not below 1000000000");

    auto huge = precise_vector();
    put_time(huge, 16, std::numeric_limits<std::int64_t>::max(), 0);
    r = decode_sys_offset(PhcMethod::precise, huge);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what.rfind("ptp_sys_offset_precise: sec ", 0), 0u) << r.error().what;

    auto back = extended_vector();
    put_time(back, 16 + 32, 1'699'999'999, 0);  // reading 0's sys_after before its sys_before
    r = decode_sys_offset(PhcMethod::extended, back);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ptp_sys_offset_extended: reading 0: system clock went back 1000000000 ns");

    // As far back as int64 allows (fuzz_hwts_decode found the message overflowing).
    auto far = extended_vector();
    put_time(far, 16, 9'000'000'000, 0);
    put_time(far, 16 + 32, -9'000'000'000, 0);
    r = decode_sys_offset(PhcMethod::extended, far);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "ptp_sys_offset_extended: reading 0: system clock went back 18000000000000000000 ns");

    EXPECT_FALSE(choose_reading(PhcMethod::basic, {}));
}

// The fake ioctl layer: what each method answers, and which were asked.
struct FakePhc {
    std::map<PhcMethod, Result<std::vector<std::byte>>> answers;
    std::vector<std::pair<PhcMethod, int>> asked;
    PhcQuery query() {
        return [this](PhcMethod m, int n) -> Result<std::vector<std::byte>> {
            asked.emplace_back(m, n);
            auto it = answers.find(m);
            if (it == answers.end()) return fail("not offered", EX_UNAVAILABLE);
            return it->second;
        };
    }
};

TEST(RefclockPhcOffset, MeasurePrefersPrecise) {
    FakePhc phc;
    phc.answers.emplace(PhcMethod::precise, precise_vector());
    phc.answers.emplace(PhcMethod::extended, extended_vector());
    auto m = measure_phc(phc.query(), 10);
    ASSERT_TRUE(m) << m.error().what;
    EXPECT_EQ(m->method, PhcMethod::precise);
    EXPECT_EQ(phc.asked.size(), 1u);
}

TEST(RefclockPhcOffset, MeasureFallsBackToExtendedThenBasic) {
    FakePhc phc;
    phc.answers.emplace(PhcMethod::extended, extended_vector());
    phc.answers.emplace(PhcMethod::basic, basic_vector());
    auto m = measure_phc(phc.query(), 5);
    ASSERT_TRUE(m) << m.error().what;
    EXPECT_EQ(m->method, PhcMethod::extended);
    EXPECT_EQ(m->offset_ns, kTai + 200);
    EXPECT_EQ(phc.asked, (std::vector<std::pair<PhcMethod, int>>{{PhcMethod::precise, 5}, {PhcMethod::extended, 5}}));

    FakePhc old;
    old.answers.emplace(PhcMethod::basic, basic_vector());
    m = measure_phc(old.query(), 7);
    ASSERT_TRUE(m) << m.error().what;
    EXPECT_EQ(m->method, PhcMethod::basic);
    EXPECT_EQ(m->offset_ns, kTai - 2'400);
    EXPECT_EQ(old.asked.size(), 3u);
}

TEST(RefclockPhcOffset, MeasureStopsOnARealError) {
    FakePhc phc;
    phc.answers.emplace(PhcMethod::precise, fail("PTP_SYS_OFFSET_PRECISE: Input/output error", EX_OSERR));
    phc.answers.emplace(PhcMethod::extended, extended_vector());
    auto m = measure_phc(phc.query(), 10);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().exit_code, EX_OSERR);
    EXPECT_EQ(phc.asked.size(), 1u);

    FakePhc none;
    m = measure_phc(none.query(), 10);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().exit_code, EX_UNAVAILABLE);
    EXPECT_EQ(m.error().what, "no PTP_SYS_OFFSET method is offered by this clock");

    FakePhc garbled;  // a driver returning nonsense is bad data, not a reason to try another
    garbled.answers.emplace(PhcMethod::precise, std::vector<std::byte>(64, std::byte{0xff}));
    m = measure_phc(garbled.query(), 10);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().exit_code, EX_DATAERR);

    EXPECT_EQ(measure_phc(none.query(), 0).error().exit_code, EX_USAGE);
    EXPECT_EQ(measure_phc(none.query(), 26).error().exit_code, EX_USAGE);
}

// Random readings: encode then decode gives them back, and the chosen one has the smallest
// window and the offset PHC - midpoint.
TEST(RefclockPhcOffset, RandomReadingsRoundTrip) {
    std::mt19937_64 rng(test::test_seed("phc_offset_test"));
    for (int round = 0; round < 300; ++round) {
        std::size_t n = 1 + rng() % kPtpMaxSamples;
        std::vector<PhcReading> in;
        UnixNanos t = kSys + static_cast<std::int64_t>(rng() % 1'000'000'000);
        const std::int64_t offset = static_cast<std::int64_t>(rng() % 2'000'000'000'000) - 1'000'000'000'000;
        for (std::size_t i = 0; i < n; ++i) {
            UnixNanos before = t;
            UnixNanos after = before + static_cast<std::int64_t>(rng() % 5000);
            in.push_back({before, before + offset + static_cast<std::int64_t>(rng() % 100), after});
            t = after;  // basic shares neighbours
        }
        for (PhcMethod m : {PhcMethod::extended, PhcMethod::basic}) {
            auto out = decode_sys_offset(m, encode_sys_offset(m, in));
            ASSERT_TRUE(out) << out.error().what;
            ASSERT_EQ(*out, in);
            auto chosen = choose_reading(m, *out);
            ASSERT_TRUE(chosen);
            for (const auto& r : in) EXPECT_LE(chosen->delay_ns, r.sys_after - r.sys_before);
            EXPECT_GE(chosen->offset_ns, offset - chosen->delay_ns / 2 - 1);
            EXPECT_LE(chosen->offset_ns, offset + 100 + chosen->delay_ns / 2);
        }
    }
}

TEST(RefclockPhcOffset, SampleAsChronysRefclockPhc) {
    PhcMeasurement m{.method = PhcMethod::extended, .time = kSys + 10'500, .offset_ns = kTai + 200,
                     .delay_ns = 1'000, .readings = 3};
    Sample s = phc_sample(m, "phc://ptp0", -kTai, 0);
    EXPECT_EQ(s.source, "phc://ptp0");
    EXPECT_EQ(s.time, kSys + 10'500);
    EXPECT_DOUBLE_EQ(s.offset, 200e-9);  // TAI's 37 s taken off, as chrony's offset -37
    EXPECT_DOUBLE_EQ(s.delay, 1e-6);
    EXPECT_DOUBLE_EQ(s.dispersion, 0.5e-6);
    EXPECT_EQ(s.stratum, 0);
    EXPECT_EQ(s.leap, 0);
    EXPECT_EQ(s.refid, "PHC");
    // A valid record: what discipline(1) reads.
    auto back = from_record<Sample>(to_record(s));
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, s);
    // A PHC at its 1970 epoch against a 2023 system clock: still the exact nanoseconds.
    PhcMeasurement epoch{.method = PhcMethod::precise, .time = kSys, .offset_ns = -kSys + 123, .delay_ns = 0,
                         .readings = 1};
    EXPECT_DOUBLE_EQ(phc_sample(epoch, "phc://ptp1", kSys, 0).offset, 123e-9);
}
