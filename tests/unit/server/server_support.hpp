// What the server tests share: a client's IPv4 address as the bytes the tables key on.
//
//   table.tag_of(v4(0xC0000201))                    // 192.0.2.1
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace timepipe::test {

// The four bytes of the IPv4 address `a` (host order), most significant first.
inline std::array<std::byte, 4> v4(std::uint32_t a) {
    return {std::byte(a >> 24), std::byte(a >> 16), std::byte(a >> 8), std::byte(a)};
}

}  // namespace timepipe::test
