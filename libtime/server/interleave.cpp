#include "libtime/server/interleave.hpp"

#include <algorithm>

namespace timepipe::ntp {

InterleaveTable::InterleaveTable(std::size_t capacity, std::span<const std::byte, 16> key)
    : table_(std::max(capacity, kWays), key) {}

InterleaveTable::Client InterleaveTable::locate(std::span<const std::byte> client) const noexcept {
    std::uint64_t tag = table_.tag_of(client);
    std::size_t i = table_.find(tag);
    return Client(tag, i == table_.npos ? kNone : i);
}

std::optional<NtpTimestamp> InterleaveTable::interleaved_transmit(const Client& c, NtpTimestamp origin) const noexcept {
    if (!c.known()) return std::nullopt;
    const Times& e = table_.value(c.index_);
    if (origin.is_zero() || e.rx != origin || e.tx.is_zero()) return std::nullopt;
    return e.tx;
}

NtpTimestamp InterleaveTable::unique_receive(const Client& c, NtpTimestamp rx) const noexcept {
    if (c.known() && diff_fixed(rx, table_.value(c.index_).rx) <= 0) return NtpTimestamp{table_.value(c.index_).rx.raw + 1};
    return rx;
}

void InterleaveTable::record(Client& c, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    const std::uint64_t stamp = ++use_counter_;
    if (c.index_ == kNone) {
        bool fresh = false;
        c.index_ = table_.find_or_insert(c.tag_, stamp, fresh);
    }
    table_.touch(c.index_, stamp);
    table_.value(c.index_) = Times{rx, tx};
}

bool InterleaveTable::update_transmit(const Client& c, NtpTimestamp rx, NtpTimestamp tx) noexcept {
    std::size_t i = table_.find(c.tag_);  // not c.index_: the entry may have moved since
    if (i == table_.npos || table_.value(i).rx != rx) return false;
    table_.value(i).tx = tx;
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

}  // namespace timepipe::ntp
