#include "libtime/server/interleave.hpp"

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

InterleaveTable::Client InterleaveTable::locate(std::span<const std::byte> client) const noexcept {
    std::uint64_t tag = tag_of(client);
    return Client(tag, find(tag));
}

std::optional<NtpTimestamp> InterleaveTable::interleaved_transmit(const Client& c, NtpTimestamp origin) const noexcept {
    if (!c.known()) return std::nullopt;
    const Entry& e = table_[c.index_];
    if (origin.is_zero() || e.rx != origin || e.tx.is_zero()) return std::nullopt;
    return e.tx;
}

NtpTimestamp InterleaveTable::unique_receive(const Client& c, NtpTimestamp rx) const noexcept {
    if (c.known() && diff_fixed(rx, table_[c.index_].rx) <= 0) return NtpTimestamp{table_[c.index_].rx.raw + 1};
    return rx;
}

void InterleaveTable::record(Client& c, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    std::size_t slot = c.index_;
    if (slot == kNone) {
        std::size_t base = set_of(c.tag_);
        std::size_t free = kNone, lru = base;
        for (std::size_t i = base; i < base + kWays; ++i) {
            if (table_[i].tag == 0 && free == kNone) free = i;
            if (table_[i].last_use < table_[lru].last_use) lru = i;
        }
        slot = free != kNone ? free : lru;
        if (free == kNone) ++evictions_;
        c.index_ = slot;
    }
    Entry& e = table_[slot];
    e.tag = c.tag_;
    e.last_use = ++use_counter_;
    e.rx = rx;
    e.tx = tx;
}

bool InterleaveTable::update_transmit(const Client& c, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    std::size_t i = find(c.tag_);  // not c.index_: the entry may have moved since
    if (i == kNone || table_[i].rx != rx) return false;
    table_[i].tx = tx;
    return true;
}

std::optional<NtpTimestamp> InterleaveTable::interleaved_transmit(std::span<const std::byte> client,
                                                                  NtpTimestamp origin) const noexcept {
    return interleaved_transmit(locate(client), origin);
}

NtpTimestamp InterleaveTable::unique_receive(std::span<const std::byte> client, NtpTimestamp rx) const noexcept {
    return unique_receive(locate(client), rx);
}

void InterleaveTable::record(std::span<const std::byte> client, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    Client c = locate(client);
    record(c, rx, tx);
}

bool InterleaveTable::update_transmit(std::span<const std::byte> client, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    return update_transmit(locate(client), rx, tx);
}

std::size_t InterleaveTable::size() const noexcept {
    return static_cast<std::size_t>(std::count_if(table_.begin(), table_.end(), [](const Entry& e) { return e.tag != 0; }));
}

}  // namespace timepipe::ntp
