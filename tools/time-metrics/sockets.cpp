#include "tools/time-metrics/sockets.hpp"

#include <algorithm>
#include <filesystem>
#include <sysexits.h>
#include <thread>
#include <system_error>

#include "libtime/sys/status_socket.hpp"

namespace time_metrics {

namespace {

constexpr std::size_t kMaxSnapshotBytes = 4 * 1024 * 1024;

// dir/*.sock and dir/*/*.sock (no error for a directory that vanished or is unreadable: the
// scrape shows what it found).
void add_directory(const std::filesystem::path& dir, std::vector<std::string>& out) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
        std::error_code ec2;
        if (e.path().extension() == ".sock" && !e.is_directory(ec2)) out.push_back(e.path().string());
        else if (e.is_directory(ec2))
            for (const auto& f : std::filesystem::directory_iterator(e.path(), ec2)) {
                std::error_code ec3;
                if (f.path().extension() == ".sock" && !f.is_directory(ec3)) out.push_back(f.path().string());
            }
    }
}

}  // namespace

std::vector<std::string> expand_socket_paths(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    if (args.empty()) add_directory("/run/timepipe", out);
    for (const auto& a : args) {
        std::error_code ec;
        if (std::filesystem::is_directory(a, ec)) add_directory(a, out);
        else out.push_back(a);  // missing: reported as down, under its name
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
