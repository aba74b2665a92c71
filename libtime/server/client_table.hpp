// A bounded table of per-client state for a server: the one implementation behind the rate
// limiter (libtime/server/rate_limit.*) and the interleave table (libtime/server/interleave.*).
//
//   ClientTable<Bucket, 8> table(65536, secret_key);     // allocated once, here
//   std::uint64_t tag = table.tag_of(address_bytes);     // keyed hash, never 0
//   bool fresh = false;
//   std::size_t i = table.find_or_insert(tag, stamp, fresh);
//   if (fresh) table.value(i) = Bucket{...};             // a new (or re-used) entry
//   ... table.last_use(i) ...; table.touch(i, stamp);
//
// Clients are keyed by a SipHash-2-4 tag of their address bytes under a per-process secret key,
// so nobody outside can choose addresses that fall into one set. Memory: capacity entries (a
// power of two, at least Ways; 0: none) in sets of Ways; a new client takes a free entry of its
// set or evicts the one with the smallest use stamp (least recently used). Stamps are the
// caller's: a monotonic time, or a counter. Pure: no clock reads; one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace timepipe {

// SipHash-2-4 of `bytes` (at most 16 are used) under `key`; never 0, which marks a free entry.
std::uint64_t client_tag(const std::array<unsigned char, 16>& key, std::span<const std::byte> bytes) noexcept;

template <class Value, std::size_t Ways>
class ClientTable {
public:
    static constexpr std::size_t kWays = Ways;
    static constexpr std::size_t npos = ~std::size_t{0};
    static_assert(std::has_single_bit(Ways));

    ClientTable(std::size_t capacity, std::span<const std::byte, 16> key) {
        std::transform(key.begin(), key.end(), key_.begin(),
                       [](std::byte b) { return std::to_integer<unsigned char>(b); });
        if (capacity != 0) slots_.resize(std::bit_ceil(std::max(capacity, Ways)));
    }

    std::uint64_t tag_of(std::span<const std::byte> client) const noexcept { return client_tag(key_, client); }

    // The entry of `tag`, or npos.
    std::size_t find(std::uint64_t tag) const noexcept {
        if (slots_.empty()) return npos;
        const std::size_t base = set_of(tag);
        for (std::size_t i = base; i < base + Ways; ++i)
            if (slots_[i].tag == tag) return i;
        return npos;
    }

    // The entry of `tag`, made if missing (fresh = true, value reset, last_use = stamp): a free
    // entry of its set, else its least recently used one. The table must not be empty.
    std::size_t find_or_insert(std::uint64_t tag, std::uint64_t stamp, bool& fresh) noexcept {
        const std::size_t base = set_of(tag);
        std::size_t free = npos, lru = base;
        for (std::size_t i = base; i < base + Ways; ++i) {
            if (slots_[i].tag == tag) {
                fresh = false;
                return i;
            }
            if (slots_[i].tag == 0) {
                if (free == npos) free = i;
            } else if (slots_[lru].tag == 0 || slots_[i].last_use < slots_[lru].last_use) {
                lru = i;
            }
        }
        const std::size_t slot = free != npos ? free : lru;
        if (free == npos) ++evictions_;
        slots_[slot] = Slot{tag, stamp, Value{}};
        fresh = true;
        return slot;
    }

    Value& value(std::size_t i) noexcept { return slots_[i].value; }
    const Value& value(std::size_t i) const noexcept { return slots_[i].value; }
    std::uint64_t last_use(std::size_t i) const noexcept { return slots_[i].last_use; }
    void touch(std::size_t i, std::uint64_t stamp) noexcept { slots_[i].last_use = stamp; }

    std::size_t capacity() const noexcept { return slots_.size(); }
    std::size_t memory_bytes() const noexcept { return slots_.size() * sizeof(Slot); }
    std::size_t size() const noexcept {  // entries in use; O(capacity), for stats and tests
        return static_cast<std::size_t>(
            std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.tag != 0; }));
    }
    std::uint64_t evictions() const noexcept { return evictions_; }

private:
    struct Slot {
        std::uint64_t tag = 0;  // 0: free
        std::uint64_t last_use = 0;
        Value value{};
    };
    // The low bits pick the set; the whole tag names the client within it.
    std::size_t set_of(std::uint64_t tag) const noexcept {
        return static_cast<std::size_t>(tag & (slots_.size() / Ways - 1)) * Ways;
    }

    std::array<unsigned char, 16> key_{};
    std::vector<Slot> slots_;
    std::uint64_t evictions_ = 0;
};

}  // namespace timepipe
