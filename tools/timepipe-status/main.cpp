// timepipe-status: what the time service is doing, from every tool's status socket: sources
// (as chronyc sources), tracking, servers' counters, tools. See man/timepipe-status.1.
#include <algorithm>
#include <cstdio>
#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/observe/status_view.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/status_socket.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::observe;

namespace {

constexpr const char* kDefaultDir = "/run/timepipe";
constexpr std::size_t kMaxSnapshotBytes = 4 << 20;   // a snapshot is kilobytes; a bound for a hostile peer

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-o text|json] [-t timeout] [sources|tracking|servers|tools]\n"
                 "       [PATH ...]\n"
                 "  PATH                  a status socket, or a directory: its *.sock and\n"
                 "                        */*.sock (default %s)\n"
                 "  -o, --output FORMAT   text (default) or json\n"
                 "  -t, --timeout TIME    wait this long for each socket (default 2s)\n"
                 "  -v, --verbose         legend, reasons, counters and sockets\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str(), kDefaultDir);
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    bool json = false;
    bool verbose = false;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    static const option long_options[] = {
        {"output", required_argument, nullptr, 'o'}, {"timeout", required_argument, nullptr, 't'},
        {"verbose", no_argument, nullptr, 'v'},      {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},      {nullptr, 0, nullptr, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:t:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'o':
            if (std::string_view(optarg) == "json") json = true;
            else if (std::string_view(optarg) == "text") json = false;
            else log::fatalx(EX_USAGE, "-o: %s: not text or json", optarg);
            break;
        case 't': timeout = duration_option("-t", optarg); break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("timepipe-status %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    Section section = Section::all;
    if (optind < argc) {
        if (auto s = parse_section(argv[optind])) {
            section = *s;
            ++optind;
        }
    }
    std::vector<std::string> given(argv + optind, argv + argc);
    if (given.empty()) given.push_back(kDefaultDir);

    // Directories give the sockets in them; a path given by name is asked whatever it is.
    std::vector<std::string> paths;
    int find_status = 0;
    for (const auto& g : given) {
        if (!is_directory(g)) {
            paths.push_back(g);
            continue;
        }
        auto found = find_status_sockets(g);
        if (!found) {
            log::warnx("%s", escape_controls(found.error().what).c_str());
            find_status = found.error().exit_code;
            continue;
        }
        paths.insert(paths.end(), found->begin(), found->end());
    }
    if (paths.empty()) {
        if (find_status == 0) log::warnx("no status sockets in %s", escape_controls(given.front()).c_str());
        return EX_NOINPUT;
    }

    // Every socket at once: one slow tool costs one timeout, not one each.
    std::vector<Result<std::vector<std::byte>>> answers(paths.size(), fail("not asked"));
    {
        std::vector<std::thread> threads;
        for (std::size_t i = 0; i < paths.size(); ++i)
            threads.emplace_back([&, i] { answers[i] = read_status_socket(paths[i], timeout, kMaxSnapshotBytes); });
        for (auto& t : threads) t.join();
    }
    std::vector<Snapshot> snapshots;
    std::vector<Unreachable> unreachable;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        Result<Snapshot> snap = answers[i] ? decode_snapshot(*answers[i], paths[i])
                                           : Result<Snapshot>(Unexpected<Error>{answers[i].error()});
        if (snap) {
            snapshots.push_back(std::move(*snap));
            continue;
        }
        // Errors of the socket layer name the path already; a decoding error does not.
        std::string what = snap.error().what;
        if (what.rfind(paths[i], 0) == 0) what = what.substr(std::min(what.size(), paths[i].size() + 2));
        log::warnx("%s: %s", escape_controls(paths[i]).c_str(), escape_controls(what).c_str());
        unreachable.push_back({paths[i], what, snap.error().exit_code});
    }

    auto view = build_status_view(snapshots, std::move(unreachable), wall_clock_now());
    std::string out = json ? render_json(view) : render_text(view, section, verbose);
    if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)
        log::fatal(EX_IOERR, "stdout");
    return view.unreachable.empty() ? 0 : EX_UNAVAILABLE;
}
