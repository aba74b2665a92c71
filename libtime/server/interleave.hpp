// Server side of interleaved client/server mode (RFC 9769 §2): a bounded per-client table of
// the last response each client got, so that its next request can be answered with that
// response's true (kernel) transmit time.
//
//   InterleaveTable table(16384, secret_key);       // allocated once, here
//   // per request from `client` (raw 4/16 address bytes), after admission:
//   NtpTimestamp rx = table.unique_receive(client, rx_now);
//   if (auto t3 = table.interleaved_transmit(client, request.origin))
//       → respond origin = request.receive, receive = rx, transmit = *t3
//   else
//       → respond basic: origin = request.transmit, receive = rx, transmit = clock read
//   table.record(client, rx, transmit_sent);        // transmit_sent: the daemon's clock read
//   // later, when the kernel reports the response's transmit time:
//   table.update_transmit(client, rx, kernel_tx);
//
// How the client asks (RFC 9769): an interleaved request carries, in its origin field, the
// receive timestamp of the previous response it got. The server keeps the receive timestamp
// it sent each client last and that response's transmit time; a request whose origin equals
// the saved receive timestamp is interleaved. The receive timestamps given to one client must
// therefore differ from each other (unique_receive() makes each one later than the last).
//
// Per request, one keyed hash: locate() the client once and pass the Client it returns to the
// other calls (the span forms below each hash again, for callers that need just one of them):
//   auto c = table.locate(client);
//   rx = table.unique_receive(c, rx_now); t3 = table.interleaved_transmit(c, origin);
//   table.record(c, rx, transmit_sent);  ...  table.update_transmit(c, rx, kernel_tx);
// A Client stays valid for update_transmit() until the process ends (it is looked up again);
// for the other calls only until the next record() of another client.
//
// Clients are keyed by address only, not port: chronyd sends each request from a new port
// (and ntp-serve -w N steers each address to one worker, so the port does not pick the table).
// Memory: capacity entries (a power of two, at least kWays) in sets of kWays, in a ClientTable
// (libtime/server/client_table.hpp, shared with the rate limiter): a new client evicts the
// least recently used entry of its set, keyed by SipHash-2-4 under a per-process secret so
// that nobody can pick addresses that collide. A forgotten client simply gets a
// basic response, then an interleaved one again from its next request on.
// Pure: no clock reads; one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "libtime/ntp/timestamp.hpp"
#include "libtime/server/client_table.hpp"

namespace timepipe::ntp {

class InterleaveTable {
public:
    static constexpr std::size_t kWays = 4;

    // capacity is rounded up to a power of two, at least kWays.
    InterleaveTable(std::size_t capacity, std::span<const std::byte, 16> key);

    // Where one client's entry is (or would go): its keyed hash and index.
    class Client {
    public:
        Client() = default;
        bool known() const noexcept { return index_ != kNone; }  // the table has an entry for it
    private:
        friend class InterleaveTable;
        Client(std::uint64_t tag, std::size_t index) : tag_(tag), index_(index) {}
        std::uint64_t tag_ = 0;
        std::size_t index_ = kNone;
    };
    Client locate(std::span<const std::byte> client) const noexcept;

    std::optional<NtpTimestamp> interleaved_transmit(const Client& c, NtpTimestamp origin) const noexcept;
    NtpTimestamp unique_receive(const Client& c, NtpTimestamp rx) const noexcept;
    void record(Client& c, NtpTimestamp rx, NtpTimestamp tx) noexcept;  // c then points at the entry
    bool update_transmit(const Client& c, NtpTimestamp rx, NtpTimestamp tx) noexcept;

    // The transmit time of the response whose receive timestamp `origin` is, if that was the
    // last response this client got. nullopt: answer in basic mode.
    std::optional<NtpTimestamp> interleaved_transmit(std::span<const std::byte> client,
                                                     NtpTimestamp origin) const noexcept;

    // `rx`, or, if this client's last receive timestamp is not earlier, that one plus 2^-32 s.
    NtpTimestamp unique_receive(std::span<const std::byte> client, NtpTimestamp rx) const noexcept;

    // Remembers the response just sent to `client`: its receive timestamp and the best transmit
    // time known now. Evicts the least recently used entry of the set for a new client.
    void record(std::span<const std::byte> client, NtpTimestamp rx, NtpTimestamp tx) noexcept;

    // The kernel's transmit time of the response that carried receive timestamp `rx`. Ignored
    // when the client has since been sent another response or has been forgotten.
    // Returns whether it was stored.
    bool update_transmit(std::span<const std::byte> client, NtpTimestamp rx, NtpTimestamp tx) noexcept;

    std::size_t capacity() const noexcept { return table_.capacity(); }
    std::size_t size() const noexcept { return table_.size(); }  // entries in use; O(capacity)
    std::uint64_t evictions() const noexcept { return table_.evictions(); }

private:
    static constexpr std::size_t kNone = ~std::size_t{0};
    struct Times {
        NtpTimestamp rx;
        NtpTimestamp tx;
    };
    ClientTable<Times, kWays> table_;
    std::uint64_t use_counter_ = 0;
};

}  // namespace timepipe::ntp
