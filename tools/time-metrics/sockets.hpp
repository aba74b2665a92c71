// Which status sockets time-metrics reads, and reading them all at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"

namespace time_metrics {

// The sockets a scrape reads: each PATH as given, a directory as its *.sock and */*.sock; with no
// PATH, /run/timepipe. Sorted, each once. Looked up again on every scrape: tools come and go.
std::vector<std::string> expand_socket_paths(const std::vector<std::string>& args);

struct SocketRead {
    std::string path;
    timepipe::Result<std::vector<std::byte>> bytes;
};

// Reads every socket in parallel, each within `timeout`: a scrape takes about the slowest one.
std::vector<SocketRead> read_sockets(const std::vector<std::string>& paths, std::chrono::nanoseconds timeout);

}  // namespace time_metrics
