#include "libtime/server/client_table.hpp"

#include <cstring>

#include <sodium/crypto_shorthash.h>

namespace timepipe {

std::uint64_t client_tag(const std::array<unsigned char, 16>& key, std::span<const std::byte> bytes) noexcept {
    static_assert(crypto_shorthash_BYTES == 8 && crypto_shorthash_KEYBYTES == 16);
    unsigned char in[16] = {};  // addresses are 4 or 16 octets; longer input is cut
    const std::size_t n = std::min(bytes.size(), sizeof in);
    if (n != 0) std::memcpy(in, bytes.data(), n);
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, n, key.data());
    std::uint64_t tag = 0;
    for (unsigned char c : out) tag = (tag << 8) | c;
    return tag != 0 ? tag : 1;
}

}  // namespace timepipe
