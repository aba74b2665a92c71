// libtime/refclock/sock: chrony's struct sock_sample, byte for byte, and what its decoder refuses.
#include "libtime/refclock/sock.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

TEST(Sock, EncodesChronysStructSockSample) {
    // tv = {1700000000, 123456}, offset 0.25, pulse 0, leap 1, _pad 0, magic "SOCK" (x86-64, LE).
    const auto bytes = encode_sock({1'700'000'000'123'456'789, 0.25, false, 1});
    EXPECT_EQ(std::vector<std::byte>(bytes.begin(), bytes.end()),
              test::hex("00 f1 53 65 00 00 00 00  40 e2 01 00 00 00 00 00"
                        "00 00 00 00 00 00 d0 3f  00 00 00 00 01 00 00 00"
                        "00 00 00 00 4b 43 4f 53"));
}

TEST(Sock, DecodeRefusesWhatChronyRefuses) {
    auto good = encode_sock({1'700'000'000'000'000'000, -0.5, true, 2});
    auto s = decode_sock(good);
    ASSERT_TRUE(s) << s.error().what;
    EXPECT_EQ(*s, (SockSample{1'700'000'000'000'000'000, -0.5, true, 2}));

    EXPECT_EQ(decode_sock(std::span(good).first(39)).error().what, "length 39, not 40");
    auto bad = good;
    bad[36] = std::byte{0};
    EXPECT_EQ(decode_sock(bad).error().what, "magic: not 0x534f434b");
    bad = good;
    bad[28] = std::byte{3};
    EXPECT_EQ(decode_sock(bad).error().what, "leap: 3 is not 0-2");
    bad = encode_sock({0, std::numeric_limits<double>::quiet_NaN(), false, 0});
    EXPECT_EQ(decode_sock(bad).error().what, "offset: not a finite number");
    bad = good;
    bad[8] = std::byte{0x40};
    bad[9] = std::byte{0x42};
    bad[10] = std::byte{0x0f};  // 1000000 us
    EXPECT_EQ(decode_sock(bad).error().what, "tv_usec: 1000000 is not 0-999999");
    EXPECT_EQ(decode_sock(bad).error().exit_code, EX_DATAERR);
}

TEST(Sock, RandomSamplesRoundTripToTheMicrosecond) {
    std::mt19937_64 rng(test::test_seed("Sock"));
    std::uniform_int_distribution<std::int64_t> t(-2'000'000'000'000'000'000, 8'000'000'000'000'000'000);
    std::uniform_real_distribution<double> off(-1000, 1000);
    for (int i = 0; i < 10000; ++i) {
        const SockSample s{t(rng), off(rng), rng() % 2 == 0, static_cast<int>(rng() % 3)};
        auto back = decode_sock(encode_sock(s));
        ASSERT_TRUE(back) << back.error().what;
        const auto us = s.time - ((s.time % 1000) + 1000) % 1000;  // floor to the microsecond
        ASSERT_EQ(back->time, us) << s.time;
        ASSERT_EQ(back->offset, s.offset);
        ASSERT_EQ(back->pulse, s.pulse);
        ASSERT_EQ(back->leap, s.leap);
    }
}
