#include "libtime/server/interleave.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "tests/unit/server/server_support.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::ntp;
using timepipe::test::test_seed;

namespace {

using timepipe::test::v4;

const std::array<std::byte, 16> kInterleaveKey{std::byte{1}, std::byte{2}};

}  // namespace

TEST(InterleaveTable, BasicThenInterleaved) {
    InterleaveTable t(16, kInterleaveKey);
    auto a = v4(0xC0000201);
    NtpTimestamp rx1{1000}, tx1{1500}, kernel_tx1{1400};
    EXPECT_FALSE(t.interleaved_transmit(a, rx1));  // nothing known yet
    t.record(a, rx1, tx1);
    EXPECT_EQ(t.interleaved_transmit(a, rx1), tx1);  // the daemon's clock read, until...
    EXPECT_TRUE(t.update_transmit(a, rx1, kernel_tx1));
    EXPECT_EQ(t.interleaved_transmit(a, rx1), kernel_tx1);  // ...the kernel's stamp
    EXPECT_FALSE(t.interleaved_transmit(a, NtpTimestamp{999}));  // wrong origin: basic
    EXPECT_FALSE(t.interleaved_transmit(a, NtpTimestamp{}));     // zero origin: basic
    // The next response replaces the remembered one; a late stamp for the old one is ignored.
    t.record(a, NtpTimestamp{2000}, NtpTimestamp{2500});
    EXPECT_FALSE(t.update_transmit(a, rx1, NtpTimestamp{1}));
    EXPECT_FALSE(t.interleaved_transmit(a, rx1));
    EXPECT_EQ(t.interleaved_transmit(a, NtpTimestamp{2000}), NtpTimestamp{2500});
}

TEST(InterleaveTable, ClientsAreSeparateAndKeyedByAddressOnly) {
    InterleaveTable t(16, kInterleaveKey);
    auto a = v4(0x0A000001), b = v4(0x0A000002);
    t.record(a, NtpTimestamp{10}, NtpTimestamp{11});
    EXPECT_FALSE(t.interleaved_transmit(b, NtpTimestamp{10}));
    std::array<std::byte, 16> v6{std::byte{0x20}, std::byte{0x01}, std::byte{0x0d}, std::byte{0xb8}};
    t.record(v6, NtpTimestamp{20}, NtpTimestamp{21});
    EXPECT_EQ(t.interleaved_transmit(v6, NtpTimestamp{20}), NtpTimestamp{21});
    EXPECT_EQ(t.interleaved_transmit(a, NtpTimestamp{10}), NtpTimestamp{11});
}

TEST(InterleaveTable, UniqueReceive) {
    InterleaveTable t(16, kInterleaveKey);
    auto a = v4(0x0A000001);
    EXPECT_EQ(t.unique_receive(a, NtpTimestamp{100}), NtpTimestamp{100});
    t.record(a, NtpTimestamp{100}, NtpTimestamp{101});
    EXPECT_EQ(t.unique_receive(a, NtpTimestamp{100}), NtpTimestamp{101});
    EXPECT_EQ(t.unique_receive(a, NtpTimestamp{50}), NtpTimestamp{101});
    EXPECT_EQ(t.unique_receive(a, NtpTimestamp{200}), NtpTimestamp{200});
}

// locate() once, then the Client forms: the same answers as the address forms, which hash each
// time. Random clients (few, so that sets fill and evict) and random operations on two tables.
TEST(InterleaveTable, ClientHandleMatchesAddressForms) {
    std::mt19937_64 rng(test_seed("ntp_interleave_test"));
    InterleaveTable by_handle(16, kInterleaveKey), by_address(16, kInterleaveKey);
    for (int i = 0; i < 20000; ++i) {
        auto a = v4(0x0A000000 + static_cast<std::uint32_t>(rng() % 40));
        NtpTimestamp origin{rng() % 4 == 0 ? 0 : 1000 + rng() % 64};
        NtpTimestamp rx{1000 + rng() % 64}, tx{2000 + rng() % 64};
        InterleaveTable::Client c = by_handle.locate(a);
        ASSERT_EQ(by_handle.interleaved_transmit(c, origin), by_address.interleaved_transmit(a, origin));
        ASSERT_EQ(by_handle.unique_receive(c, rx), by_address.unique_receive(a, rx));
        switch (rng() % 3) {
        case 0:
            by_handle.record(c, rx, tx);
            by_address.record(a, rx, tx);
            ASSERT_TRUE(c.known());
            break;
        case 1:
            ASSERT_EQ(by_handle.update_transmit(c, rx, tx), by_address.update_transmit(a, rx, tx));
            break;
        default: break;
        }
    }
    EXPECT_EQ(by_handle.size(), by_address.size());
    EXPECT_EQ(by_handle.evictions(), by_address.evictions());
    EXPECT_GT(by_handle.evictions(), 0u);
}

TEST(InterleaveTable, HandleSurvivesEvictionForUpdate) {
    InterleaveTable t(4, kInterleaveKey);  // one set of four
    auto a = v4(0x0A000001);
    InterleaveTable::Client c = t.locate(a);
    EXPECT_FALSE(c.known());
    t.record(c, NtpTimestamp{10}, NtpTimestamp{11});
    EXPECT_TRUE(c.known());
    for (std::uint32_t i = 2; i < 7; ++i) t.record(v4(0x0A000000 + i), NtpTimestamp{10}, NtpTimestamp{11});
    EXPECT_FALSE(t.locate(a).known());                                   // evicted
    EXPECT_FALSE(t.update_transmit(c, NtpTimestamp{10}, NtpTimestamp{5}));  // and not resurrected
    EXPECT_FALSE(t.interleaved_transmit(a, NtpTimestamp{10}));
}

TEST(InterleaveTable, BoundedWithLruEviction) {
    std::mt19937_64 rng(test_seed("ntp_interleave_test"));
    InterleaveTable t(64, kInterleaveKey);
    EXPECT_EQ(t.capacity(), 64u);
    EXPECT_EQ(InterleaveTable(5, kInterleaveKey).capacity(), 8u);
    EXPECT_EQ(InterleaveTable(0, kInterleaveKey).capacity(), InterleaveTable::kWays);
    auto hot = v4(0xC0000201);
    for (std::uint32_t i = 0; i < 10000; ++i) {
        t.record(v4(static_cast<std::uint32_t>(rng())), NtpTimestamp{i + 1}, NtpTimestamp{i + 2});
        // A client that keeps coming back stays (it is never the least recently used of its set
        // for long): re-record it every 2 inserts.
        if (i % 2 == 0) t.record(hot, NtpTimestamp{1'000'000 + i}, NtpTimestamp{2'000'000 + i});
        ASSERT_LE(t.size(), t.capacity());
    }
    EXPECT_EQ(t.size(), t.capacity());
    EXPECT_GT(t.evictions(), 9000u);
    EXPECT_EQ(t.interleaved_transmit(hot, NtpTimestamp{1'000'000 + 9998}), NtpTimestamp{2'000'000 + 9998});
}
