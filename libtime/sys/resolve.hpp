// Turn a HostPort (libtime/base/host_port.hpp) into the addresses to talk to.
//
//   auto addrs = resolve(*hp, 123);                   // every address: a pool is many sources
//   auto v6 = resolve(*hp, 123, Family::v6);
//   if (!addrs) → addrs.error(): {"name or service not known", EX_NOHOST} and friends
//
// Numeric hosts take a fast path (inet_pton, no lookup). Names go through getaddrinfo(3),
// which has no timeout of its own: a dead resolver holds it for timeout x attempts of
// resolv.conf per server (10 s by default). So resolve() blocks that long; give it a bound,
// or wait for a PendingResolution from an event loop:
//
//   auto r = resolve(*hp, 123, Family::any, 2s);      // at most 2 s: "name resolution timed out"
//   auto p = PendingResolution::start(*hp, 123);      // answer in a helper thread
//   FdWatcher::create(loop, p->fd(), [&](FdEvents) { if (auto r = p->take()) use(*r); });
//
// The result keeps getaddrinfo's order, without duplicates, and is never empty.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/socket_address.hpp"

namespace timepipe {

enum class Family : std::uint8_t { any, v4, v6 };

Result<std::vector<SocketAddress>> resolve(const HostPort& hp, std::uint16_t default_port,
                                           Family family = Family::any);

// The same within `bound`; after it {"name resolution timed out", EX_TEMPFAIL}, and the lookup
// is abandoned to its helper thread, which ends on its own when getaddrinfo returns.
Result<std::vector<SocketAddress>> resolve(const HostPort& hp, std::uint16_t default_port, Family family,
                                           std::chrono::nanoseconds bound);

// One resolution running in a helper thread. Destroying it abandons the answer (the thread
// drops it when it comes); nothing ever waits for a thread to end.
class PendingResolution {
public:
    using Answer = Result<std::vector<SocketAddress>>;

    static Result<PendingResolution> start(const HostPort& hp, std::uint16_t default_port,
                                           Family family = Family::any);
    // Any work, for tests (a lookup that blocks until the test lets it go).
    static Result<PendingResolution> start(std::function<Answer()> work);

    // Readable (an eventfd) once the answer is in; watch it from an event loop.
    int fd() const;
    // The answer, once: nullopt while it is not in (or was taken).
    std::optional<Answer> take();
    // take(), waiting at most `bound` for the answer.
    std::optional<Answer> wait_for(std::chrono::nanoseconds bound);

private:
    struct State;
    static Result<PendingResolution> start(std::function<Answer()> work, std::optional<Answer> ready);
    explicit PendingResolution(std::shared_ptr<State> s) : state_(std::move(s)) {}
    std::shared_ptr<State> state_;
};

// A numeric address ("192.0.2.1", "2001:db8::1", "fe80::1%eth0", "fe80::1%2"), or nullopt.
std::optional<SocketAddress> parse_address(std::string_view text, std::uint16_t port = 0);

}  // namespace timepipe
