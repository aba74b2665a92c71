#include "libtime/server/client_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <set>

#include "tests/unit/server/server_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::v4;

std::array<std::byte, 16> key(std::uint8_t k) {
    std::array<std::byte, 16> a{};
    a[0] = std::byte{k};
    return a;
}

}  // namespace

TEST(ClientTable, CapacityIsAPowerOfTwoOfWholeSets) {
    EXPECT_EQ((ClientTable<int, 4>(0, key(1)).capacity()), 0u);  // off: nothing allocated
    EXPECT_EQ((ClientTable<int, 4>(1, key(1)).capacity()), 4u);
    EXPECT_EQ((ClientTable<int, 4>(5, key(1)).capacity()), 8u);
    EXPECT_EQ((ClientTable<int, 8>(64, key(1)).capacity()), 64u);
    EXPECT_EQ((ClientTable<std::uint64_t, 8>(64, key(1)).memory_bytes()), 64u * 24u);
    ClientTable<int, 4> empty(0, key(1));
    EXPECT_EQ(empty.find(empty.tag_of(v4(1))), empty.npos);
}

TEST(ClientTable, TagsAreKeyedNeverZeroAndUseAtMost16Octets) {
    ClientTable<int, 4> a(4, key(1)), b(4, key(2));
    EXPECT_NE(a.tag_of(v4(0x01020304)), b.tag_of(v4(0x01020304)));
    EXPECT_NE(a.tag_of(v4(0x01020304)), a.tag_of(v4(0x01020305)));
    std::set<std::uint64_t> seen;
    for (std::uint32_t i = 0; i < 1000; ++i) {
        std::uint64_t t = a.tag_of(v4(i));
        EXPECT_NE(t, 0u);
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 1000u);
    std::array<std::byte, 20> longer{};
    EXPECT_EQ(a.tag_of(longer), a.tag_of(std::span(longer).first(16)));
}

// One set (capacity = Ways): a new client takes a free entry, then evicts the smallest stamp.
TEST(ClientTable, FindOrInsertEvictsTheLeastRecentlyUsed) {
    ClientTable<int, 4> t(4, key(3));
    std::array<std::uint64_t, 5> tags{};
    for (std::uint32_t i = 0; i < 5; ++i) tags[i] = t.tag_of(v4(100 + i));
    bool fresh = false;
    for (std::uint32_t i = 0; i < 4; ++i) {
        std::size_t at = t.find_or_insert(tags[i], 10 + i, fresh);
        EXPECT_TRUE(fresh);
        t.value(at) = static_cast<int>(i);
    }
    EXPECT_EQ(t.size(), 4u);
    EXPECT_EQ(t.evictions(), 0u);
    std::size_t again = t.find_or_insert(tags[0], 20, fresh);  // known: not fresh, value kept
    EXPECT_FALSE(fresh);
    EXPECT_EQ(t.value(again), 0);
    EXPECT_EQ(t.last_use(again), 10u);  // the caller decides when to touch
    t.touch(again, 20);
    std::size_t newcomer = t.find_or_insert(tags[4], 21, fresh);  // evicts tags[1] (stamp 11)
    EXPECT_TRUE(fresh);
    EXPECT_EQ(t.value(newcomer), 0);  // reset
    EXPECT_EQ(t.evictions(), 1u);
    EXPECT_EQ(t.find(tags[1]), t.npos);
    EXPECT_NE(t.find(tags[0]), t.npos);
    EXPECT_NE(t.find(tags[2]), t.npos);
    EXPECT_EQ(t.size(), 4u);
}
