// libtime/ntp/pool: a new address of a name is skipped when any source uses it, replaces the
// first source of that name that stopped answering, else is added up to the maximum.
#include "libtime/ntp/pool.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace timepipe;
using namespace timepipe::ntp;

namespace {
SocketAddress addr(std::uint8_t last) {
    return SocketAddress::v4({std::byte{192}, std::byte{0}, std::byte{2}, std::byte{last}}, 123);
}
}  // namespace

TEST(Pool, AddsUpToTheMaximum) {
    std::vector<PoolMember> live;
    EXPECT_EQ(place_address(addr(1), live, 2).kind, Placement::Add);
    live.push_back({addr(1), true, false});
    EXPECT_EQ(place_address(addr(2), live, 2).kind, Placement::Add);
    live.push_back({addr(2), true, false});
    EXPECT_EQ(place_address(addr(3), live, 2).kind, Placement::Full);
    // Sources of other names do not count against this name's maximum.
    std::vector<PoolMember> others{{addr(7), false, false}, {addr(8), false, true}};
    EXPECT_EQ(place_address(addr(3), others, 1).kind, Placement::Add);
}

TEST(Pool, AnAddressInUseIsSkippedWhoeverUsesIt) {
    std::vector<PoolMember> live{{addr(1), false, false}, {addr(2), true, true}};
    EXPECT_EQ(place_address(addr(1), live, 4).kind, Placement::InUse);
    EXPECT_EQ(place_address(addr(2), live, 4).kind, Placement::InUse);  // even one not answering
}

TEST(Pool, ReplacesTheFirstSourceOfTheNameThatStoppedAnswering) {
    std::vector<PoolMember> live{{addr(1), true, false}, {addr(5), false, true}, {addr(2), true, true},
                                 {addr(3), true, true}};
    auto p = place_address(addr(4), live, 3);
    EXPECT_EQ(p.kind, Placement::Replace);
    EXPECT_EQ(p.replaced, 2u);  // not another name's (index 1), and the first of this name's
    // Below the maximum a dead source is still replaced rather than kept beside the new one.
    EXPECT_EQ(place_address(addr(4), live, 10).kind, Placement::Replace);
}
