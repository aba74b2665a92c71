// A status socket (man/time-stream.5, "Status snapshots"): a Unix stream socket a long-running
// tool listens on; each client that connects receives the bytes of a snapshot callback, then
// EOF. Generic over bytes: libtime/observe/snapshot.hpp makes the bytes. Served from its own
// thread, so it works whatever the tool's loop; a slow or silent client is dropped after the
// send timeout, clients beyond max_clients are closed at once, so none can stall the tool.
//
// Wiring a tool (the socket is opened before privileges are dropped):
//   auto self = this_process();
//   observe::SnapshotStore store({"ntp-serve", 0, self.pid, self.started, VERSION, path});
//   auto status = StatusSocket::open(path, mode, [&] { return store.encode(wall_clock_now()); });
//   ... store.publish(to_record(sample)) wherever a record is written or counters change.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/sys/clock.hpp"  // wall_clock_now: the `time` of a snapshot

namespace timepipe {

class StatusSocket {
public:
    using SnapshotFn = std::function<std::vector<std::byte>()>;
    struct Limits {
        std::chrono::milliseconds send_timeout{1000};   // a client not done by then is dropped
        int max_clients = 4;                            // served at once; more are closed at once
    };

    // Listens on `path` with file mode `mode`. A stale socket file (nobody answers it) is
    // replaced; one a live process answers is EX_UNAVAILABLE "in use"; any other file there is
    // EX_CANTCREAT. `snapshot` is called from the server thread, once per client.
    static Result<StatusSocket> open(const std::string& path, mode_t mode, SnapshotFn snapshot,
                                     Limits limits);
    static Result<StatusSocket> open(const std::string& path, mode_t mode, SnapshotFn snapshot) {
        return open(path, mode, std::move(snapshot), Limits{});
    }

    StatusSocket(StatusSocket&&) noexcept;
    StatusSocket& operator=(StatusSocket&&) noexcept;
    // Stops and joins the thread, closes every client, removes the socket file if it is still
    // ours (after a privilege drop the directory may forbid it: the next start replaces it).
    ~StatusSocket();

    const std::string& path() const;
    std::uint64_t served() const;    // clients that got the whole snapshot
    std::uint64_t dropped() const;   // clients closed early: too many at once, or too slow

private:
    struct Impl;
    explicit StatusSocket(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// Connects to the status socket at `path` and reads until EOF. Errors: EX_NOINPUT (no such
// file), EX_UNAVAILABLE (refused: nobody listens; or no EOF within `timeout`), EX_NOPERM,
// EX_DATAERR (more than `max_bytes`), EX_USAGE (not a socket path), EX_OSERR.
Result<std::vector<std::byte>> read_status_socket(const std::string& path,
                                                  std::chrono::nanoseconds timeout,
                                                  std::size_t max_bytes);

// The status sockets under `dir`: DIR/*.sock and DIR/*/*.sock that are sockets, sorted.
// EX_NOINPUT when `dir` does not exist, EX_NOPERM when it cannot be read.
Result<std::vector<std::string>> find_status_sockets(const std::string& dir);

// Who this process is, for the `status` record: its pid and when it started (CLOCK_REALTIME,
// from /proc/self/stat's start time in clock ticks since boot).
struct ProcessIdentity {
    std::int64_t pid = 0;
    UnixNanos started = 0;
};
ProcessIdentity this_process();

}  // namespace timepipe
