// Octet helpers protocol code shares: a string's octets as a byte span, a host-order field of
// a kernel struct, and 64-bit big-endian loads and stores, at any alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace timepipe {

inline std::span<const std::byte> bytes_of(std::string_view s) {
    return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// A 32-bit field at `offset` of a struct the kernel copied out as it is (host byte order).
inline std::uint32_t host_u32_at(std::span<const std::byte> raw, std::size_t offset) {
    std::uint32_t v = 0;
    std::memcpy(&v, raw.data() + offset, sizeof v);
    return v;
}

inline std::uint64_t load_be64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

inline void store_be64(unsigned char* p, std::uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
}

}  // namespace timepipe
