#include "tools/time-metrics/sockets.hpp"

#include <algorithm>
#include <sysexits.h>
#include <thread>

#include "libtime/sys/status_socket.hpp"

namespace time_metrics {

namespace {

constexpr std::size_t kMaxSnapshotBytes = 4 * 1024 * 1024;

}  // namespace

std::vector<std::string> expand_socket_paths(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    if (args.empty())
        if (auto found = timepipe::find_status_sockets("/run/timepipe")) out = std::move(*found);
    for (const auto& a : args) {
        // A directory gives its sockets; anything else (a socket, a missing path, one we may not
        // read) is read as it is, and shows as down when it does not answer.
        if (auto found = timepipe::find_status_sockets(a)) out.insert(out.end(), found->begin(), found->end());
        else out.push_back(a);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<SocketRead> read_sockets(const std::vector<std::string>& paths, std::chrono::nanoseconds timeout) {
    std::vector<SocketRead> out;
    out.reserve(paths.size());
    for (const auto& p : paths) out.push_back({p, timepipe::Unexpected<timepipe::Error>{timepipe::Error{p + ": not read", EX_SOFTWARE}}});
    {
        std::vector<std::jthread> readers;
        readers.reserve(out.size());
        for (auto& r : out)
            readers.emplace_back([&r, timeout] { r.bytes = timepipe::read_status_socket(r.path, timeout, kMaxSnapshotBytes); });
    }  // joined here
    return out;
}

}  // namespace time_metrics
