#include "libtime/ntp_interleave.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include <sodium.h>

namespace timepipe::ntp {

InterleaveTable::InterleaveTable(std::size_t capacity, std::span<const std::byte, 16> key) {
    std::memcpy(key_.data(), key.data(), key_.size());
    table_.resize(std::bit_ceil(std::max(capacity, kWays)));
}

std::uint64_t InterleaveTable::tag_of(std::span<const std::byte> client) const noexcept {
    static_assert(crypto_shorthash_BYTES == 8 && crypto_shorthash_KEYBYTES == 16);
    unsigned char in[16] = {};  // addresses are 4 or 16 bytes; longer input is cut (and unmatched)
    std::size_t n = std::min(client.size(), sizeof in);
    if (n != 0) std::memcpy(in, client.data(), n);
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, in, n, key_.data());
    std::uint64_t tag = 0;
    std::memcpy(&tag, out, sizeof tag);
    return tag | 1;  // 0 marks a free entry
}

std::size_t InterleaveTable::set_of(std::uint64_t tag) const noexcept {
    return static_cast<std::size_t>(tag >> 1) % (table_.size() / kWays) * kWays;
}

std::size_t InterleaveTable::find(std::uint64_t tag) const noexcept {
    std::size_t base = set_of(tag);
    for (std::size_t i = base; i < base + kWays; ++i)
        if (table_[i].tag == tag) return i;
    return kNone;
}

std::optional<NtpTimestamp> InterleaveTable::interleaved_transmit(std::span<const std::byte> client,
                                                                  NtpTimestamp origin) const noexcept {
    std::size_t i = find(tag_of(client));
    if (i == kNone || origin.is_zero() || table_[i].rx != origin || table_[i].tx.is_zero()) return std::nullopt;
    return table_[i].tx;
}

NtpTimestamp InterleaveTable::unique_receive(std::span<const std::byte> client, NtpTimestamp rx) const noexcept {
    std::size_t i = find(tag_of(client));
    if (i != kNone && diff_fixed(rx, table_[i].rx) <= 0) return NtpTimestamp{table_[i].rx.raw + 1};
    return rx;
}

void InterleaveTable::record(std::span<const std::byte> client, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    std::uint64_t tag = tag_of(client);
    std::size_t base = set_of(tag);
    std::size_t hit = kNone, free = kNone, lru = base;
    for (std::size_t i = base; i < base + kWays; ++i) {
        if (table_[i].tag == tag) hit = i;
        else if (table_[i].tag == 0 && free == kNone) free = i;
        if (table_[i].last_use < table_[lru].last_use) lru = i;
    }
    std::size_t slot = hit != kNone ? hit : free != kNone ? free : lru;
    if (hit == kNone && free == kNone) ++evictions_;
    Entry& e = table_[slot];
    e.tag = tag;
    e.last_use = ++use_counter_;
    e.rx = rx;
    e.tx = tx;
}

bool InterleaveTable::update_transmit(std::span<const std::byte> client, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    std::size_t i = find(tag_of(client));
    if (i == kNone || table_[i].rx != rx) return false;
    table_[i].tx = tx;
    return true;
}

std::size_t InterleaveTable::size() const noexcept {
    return static_cast<std::size_t>(std::count_if(table_.begin(), table_.end(), [](const Entry& e) { return e.tag != 0; }));
}

}  // namespace timepipe::ntp
