// webntp-query: ask WebNTP servers (go-webntp's JSON over HTTP, HTTPS, WebSocket) for the time,
// average a few samples as go-webntp does, and write one sample record for the best URL.
// See man/webntp-query.1.
#include <getopt.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/http/client_http.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/json_lines.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/stream/sample_table.hpp"
#include "tools/webntp-query/query.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace webntp_query;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-p samples] [-t timeout] [-o text|json|cbor] [--ca-file FILE] url ...\n"
                 "  url                   http://, https://, ws:// or wss:// of a WebNTP server\n"
                 "  -p, --samples N       samples per URL, 1-8 (default 4), a random wait below 1 s apart\n"
                 "  -t, --timeout TIME    wait this long for each answer, connecting included (default 2s)\n"
                 "  -o, --output FORMAT   text table, JSON lines or CBOR (default: text on a\n"
                 "                        terminal, CBOR otherwise)\n"
                 "      --ca-file FILE    https/wss: trust the CAs in FILE instead of the system's\n"
                 "  -v, --verbose         each sample on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str());
}

enum LongOnly { kCaFile = 256 };

struct Options {
    QueryOptions query;
    OutputFormat output = OutputFormat::cbor;
    std::vector<http::WebUrl> urls;
};

Options parse_options(int argc, char* argv[]) {
    Options opt;
    opt.output = default_output_format();
    static const option long_options[] = {
        {"samples", required_argument, nullptr, 'p'}, {"timeout", required_argument, nullptr, 't'},
        {"output", required_argument, nullptr, 'o'},  {"ca-file", required_argument, nullptr, kCaFile},
        {"verbose", no_argument, nullptr, 'v'},       {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},       {nullptr, 0, nullptr, 0},
    };
    opterr = 0;
    int verbosity = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":p:t:o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'p': opt.query.samples = static_cast<int>(int_option("-p", optarg, 1, 8)); break;
        case 't': opt.query.timeout = duration_option("-t", optarg); break;
        case 'o':
            if (auto f = parse_output_format(optarg)) opt.output = *f;
            else log::fatalx(EX_USAGE, "-o: %s", f.error().what.c_str());
            break;
        case kCaFile: opt.query.ca_file = optarg; break;
        case 'v': log::set_verbosity(++verbosity); break;
        case 'h': usage(stdout); std::exit(0);
        case 'V': std::printf("webntp-query %s\n", TIMEPIPE_VERSION); std::exit(0);
        default: getopt_failure(c, argv);
        }
    }
    if (optind == argc) log::fatalx(EX_USAGE, "no URL given (see -h)");
    for (int i = optind; i < argc; ++i) {
        auto u = http::parse_web_url(argv[i]);
        if (!u) log::fatalx(u.error().exit_code, "%s", u.error().what.c_str());
        opt.urls.push_back(std::move(*u));
    }
    return opt;
}

void put(const std::string& bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
        log::fatal(EX_IOERR, "stdout");
}

// The LI field from the server's leap information: an announced leap second within 28 days.
int leap_indicator(const http::WebNtpReply& r, std::int64_t now) {
    constexpr std::int64_t kWindow = 28LL * 86400 * 1'000'000'000;
    if (r.next <= now || r.next - now > kWindow) return 0;
    return r.step > 0 ? 1 : r.step < 0 ? 2 : 0;
}

Sample to_sample(const UrlResult& r, const http::WebNtpSample& avg) {
    Sample s;
    s.source = r.url.text();
    s.time = r.last_recv;
    s.offset = static_cast<double>(avg.offset) / 1e9;
    s.delay = static_cast<double>(avg.delay) / 1e9;
    // The answer carries no error bound of its own: the clock's 1 us resolution in the JSON.
    s.dispersion = 1e-6;
    // WebNTP says nothing of the server's source: count it one below a primary (man page).
    s.stratum = 2;
    s.leap = leap_indicator(r.last, r.last_recv);
    s.refid = r.url.websocket() ? "WS" : "HTTP";
    s.poll = 0;
    s.auth = r.url.tls() ? "tls" : "none";
    return s;
}

void write_sample(const Sample& s, OutputFormat format) {
    const Record rec = to_record(s);
    switch (format) {
    case OutputFormat::json: put(to_json_line(rec)); break;
    case OutputFormat::cbor: {
        std::vector<std::byte> bytes;
        if (auto ok = encode_record(rec, bytes); !ok) log::fatalx(EX_SOFTWARE, "record: %s", ok.error().what.c_str());
        put(std::string(static_cast<const char*>(static_cast<const void*>(bytes.data())), bytes.size()));
        break;
    }
    case OutputFormat::text: put(sample_table_header() + sample_table_row(s, s.time, '*')); break;
    }
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program("webntp-query");
    const Options opt = parse_options(argc, argv);

    std::optional<Sample> best;
    for (const auto& url : opt.urls) {
        auto r = query_url(url, opt.query);
        if (!r) {
            log::warnx("%s: %s", url.text().c_str(), r.error().what.c_str());
            continue;
        }
        std::size_t kept = 0;
        auto avg = http::combine_samples(r->samples, &kept);
        if (!avg) continue;
        const Sample s = to_sample(*r, *avg);
        log::info("%s: offset %+.6f s, delay %.6f s (%zu of %zu samples kept)", s.source.c_str(), s.offset, s.delay,
                  kept, r->samples.size());
        if (!best || s.delay < best->delay) best = s;
    }
    if (!best) {
        // Every URL failed: never a zero offset (go-webntp exits 0 with one).
        log::warnx("no URL answered");
        return EX_UNAVAILABLE;
    }
    write_sample(*best, opt.output);
    return 0;
}
