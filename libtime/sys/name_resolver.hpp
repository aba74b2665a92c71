// A host name resolved from an event loop (a helper thread answers, so the loop never blocks
// on the resolver; libtime/sys/resolve.hpp), retried on a RetrySchedule (libtime/base/retry.hpp)
// until it resolves, and looked up again on demand, at most once per interval, when a source
// of that name stops answering (as chronyd does for pools).
//
//   NameResolver name(loop, "pool.ntp.org", NameResolver::lookup(hp, 123, Family::any),
//                     RetrySchedule(minpoll, maxpoll),
//                     {.on_addresses = [&](auto& addrs) { return adopt(addrs); },   // how many taken
//                      .on_settled = [&] { if (all_done()) loop.stop(); }});
//   name.start();                      // until it resolves: waiting() is true meanwhile
//   name.refresh(monotonic_now());     // a source of it stopped answering
//
// Messages (log::warnx, subject first): "NAME: why; retrying" once per distinct failure,
// "NAME: resolved" after one, "NAME: why" when a lookup cannot even start (then no retry).
// The retry wait starts over after the first answer and after every answer with an address
// taken into use. Not movable: the loop's callbacks point to it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/retry.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/resolve.hpp"

namespace timepipe {

class NameResolver {
public:
    // Starts one lookup (PendingResolution::start, or a fake in tests).
    using Lookup = std::function<Result<PendingResolution>()>;
    struct Callbacks {
        // The addresses of an answer; returns how many of them were taken into use.
        std::function<std::size_t(const std::vector<SocketAddress>&)> on_addresses;
        // waiting() may have become false: an answer came, or the name was given up.
        std::function<void()> on_settled;
    };

    static Lookup lookup(HostPort hp, std::uint16_t default_port, Family family);

    NameResolver(EventLoop& loop, std::string subject, Lookup lookup, RetrySchedule schedule, Callbacks callbacks);
    NameResolver(const NameResolver&) = delete;
    NameResolver& operator=(const NameResolver&) = delete;

    // Resolve, and again after each failure on the schedule, until an answer comes.
    void start();
    // Look again (one lookup at a time, at most one per interval of the schedule) once it has
    // resolved; a failure then is said and not retried until the next refresh.
    void refresh(std::int64_t mono_now);

    bool waiting() const { return retrying_; }  // started, no answer yet, not given up
    bool resolved() const { return resolved_; }
    // The latest failure ("" after an answer) and its sysexits code.
    const std::string& failure() const { return failure_; }
    int exit_code() const { return exit_code_; }

private:
    void resolve();
    void on_answer();

    EventLoop& loop_;
    std::string subject_;
    Lookup lookup_;
    RetrySchedule schedule_;
    Callbacks callbacks_;
    std::optional<PendingResolution> pending_;  // before watcher_: the watcher goes first
    std::optional<FdWatcher> watcher_;
    std::optional<Timer> retry_timer_;
    bool retrying_ = false;
    bool said_failure_ = false;
    bool resolved_ = false;
    std::string failure_;
    int exit_code_ = 0;
};

}  // namespace timepipe
