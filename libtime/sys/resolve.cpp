#include "libtime/sys/resolve.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libtime/sys/socket.hpp"

namespace timepipe {
namespace {

bool family_matches(const SocketAddress& a, Family f) {
    return f == Family::any || (f == Family::v4 && a.is_v4()) || (f == Family::v6 && a.is_v6());
}

// "eth0" or "2" → interface index; 0 if there is no such interface.
std::uint32_t parse_zone(const std::string& zone) {
    if (!zone.empty() && std::all_of(zone.begin(), zone.end(),
                                     [](char c) { return c >= '0' && c <= '9'; })) {
        if (zone.size() > 9)
            return 0;
        return static_cast<std::uint32_t>(std::stoul(zone));
    }
    return if_nametoindex(zone.c_str());
}

struct AddrinfoFree {
    void operator()(addrinfo* ai) const { freeaddrinfo(ai); }
};

}  // namespace

std::optional<SocketAddress> parse_address(std::string_view text, std::uint16_t port) {
    if (text.empty() || text.size() > 128)
        return std::nullopt;
    std::string s(text);
    std::array<std::byte, 4> a4{};
    if (inet_pton(AF_INET, s.c_str(), a4.data()) == 1)
        return SocketAddress::v4(a4, port);
    std::uint32_t scope = 0;
    auto pct = s.find('%');
    if (pct != std::string::npos) {
        scope = parse_zone(s.substr(pct + 1));
        if (scope == 0)
            return std::nullopt;
        s.resize(pct);
    }
    std::array<std::byte, 16> a6{};
    if (inet_pton(AF_INET6, s.c_str(), a6.data()) == 1)
        return SocketAddress::v6(a6, port, scope);
    return std::nullopt;
}

Result<std::vector<SocketAddress>> resolve(const HostPort& hp, std::uint16_t default_port,
                                           Family family) {
    std::uint16_t port = hp.port.value_or(default_port);
    if (auto numeric = parse_address(hp.host, port)) {
        if (!family_matches(*numeric, family))
            return fail(family == Family::v4 ? "not an IPv4 address" : "not an IPv6 address",
                        EX_NOHOST);
        return std::vector<SocketAddress>{*numeric};
    }

    addrinfo hints{};
    hints.ai_family = family == Family::v4 ? AF_INET : family == Family::v6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    // No AI_ADDRCONFIG: glibc ignores loopback for it, so a host with only "lo" up would
    // resolve "localhost" to nothing.
    addrinfo* raw = nullptr;
    int rc = getaddrinfo(hp.host.c_str(), nullptr, &hints, &raw);
    std::unique_ptr<addrinfo, AddrinfoFree> list(raw);
    switch (rc) {
    case 0:
        break;
    case EAI_AGAIN:
        return fail("temporary failure in name resolution", EX_TEMPFAIL);
    case EAI_SYSTEM:
        return fail(std::string("getaddrinfo: ") + std::strerror(errno), EX_OSERR);
    case EAI_MEMORY:
        return fail("getaddrinfo: out of memory", EX_OSERR);
    default:  // EAI_NONAME, EAI_NODATA, EAI_ADDRFAMILY, EAI_FAIL, …
        return fail("name or service not known", EX_NOHOST);
    }
    std::vector<SocketAddress> out;
    for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
        auto a = sys::from_sockaddr(ai->ai_addr, ai->ai_addrlen);
        if (!a || !family_matches(*a, family))
            continue;
        SocketAddress with = a->with_port(port);
        if (std::find(out.begin(), out.end(), with) == out.end())
            out.push_back(with);
    }
    if (out.empty())
        return fail("name or service not known", EX_NOHOST);
    return out;
}

struct PendingResolution::State {
    std::mutex mutex;
    std::condition_variable done_cv;
    std::optional<Answer> answer;  // set once by the helper thread
    bool taken = false;
    int event_fd = -1;
    ~State() {
        if (event_fd >= 0) ::close(event_fd);
    }
};

Result<PendingResolution> PendingResolution::start(const HostPort& hp, std::uint16_t default_port,
                                                   Family family) {
    if (parse_address(hp.host)) return start(nullptr, resolve(hp, default_port, family));  // no lookup
    return start([hp, default_port, family] { return resolve(hp, default_port, family); });
}

Result<PendingResolution> PendingResolution::start(std::function<Answer()> work) { return start(std::move(work), {}); }

Result<PendingResolution> PendingResolution::start(std::function<Answer()> work, std::optional<Answer> ready) {
    auto state = std::make_shared<State>();
    state->event_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (state->event_fd < 0) return fail(std::string("eventfd: ") + std::strerror(errno), EX_OSERR);
    if (ready) {  // answered already: no thread
        state->answer = std::move(ready);
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(state->event_fd, &one, sizeof one);
        return PendingResolution(std::move(state));
    }
    try {
        // The thread holds the state: an abandoned lookup writes into it and drops it.
        std::thread([state, work = std::move(work)] {
            Answer a = work();
            {
                std::lock_guard lock(state->mutex);
                state->answer = std::move(a);
                const std::uint64_t one = 1;  // under the lock: take() reads it back after this
                [[maybe_unused]] const auto n = ::write(state->event_fd, &one, sizeof one);
            }
            state->done_cv.notify_all();
        }).detach();
    } catch (const std::system_error& e) {
        return fail(std::string("cannot start a resolver thread: ") + e.what(), EX_OSERR);
    }
    return PendingResolution(std::move(state));
}

int PendingResolution::fd() const { return state_->event_fd; }

std::optional<PendingResolution::Answer> PendingResolution::take() { return wait_for(std::chrono::nanoseconds(0)); }

std::optional<PendingResolution::Answer> PendingResolution::wait_for(std::chrono::nanoseconds bound) {
    std::unique_lock lock(state_->mutex);
    if (state_->taken) return std::nullopt;
    if (!state_->done_cv.wait_for(lock, bound, [this] { return state_->answer.has_value(); })) return std::nullopt;
    state_->taken = true;
    std::uint64_t count = 0;
    [[maybe_unused]] const auto n = ::read(state_->event_fd, &count, sizeof count);  // not readable any more
    return std::move(state_->answer);
}

Result<std::vector<SocketAddress>> resolve(const HostPort& hp, std::uint16_t default_port, Family family,
                                           std::chrono::nanoseconds bound) {
    if (parse_address(hp.host, 0)) return resolve(hp, default_port, family);  // no lookup, no thread
    auto pending = PendingResolution::start(hp, default_port, family);
    if (!pending) return Unexpected<Error>{pending.error()};
    if (auto answer = pending->wait_for(bound)) return std::move(*answer);
    return fail("name resolution timed out", EX_TEMPFAIL);
}

}  // namespace timepipe
