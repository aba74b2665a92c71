// timecat: read a time stream (CBOR, or JSON lines with -i json) and show it as a table, JSON
// lines or CBOR. See man/timecat.1.
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/stream/json_lines.hpp"
#include "libtime/base/log.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/sys/file.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

enum class InputFormat { cbor, json };

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-i cbor|json] [-o text|json|cbor] [-n count] [file ...]\n"
                 "  -i, --input FORMAT    read CBOR (default) or JSON lines\n"
                 "  -o, --output FORMAT   text table, JSON lines or CBOR (default: text on a\n"
                 "                        terminal, JSON lines otherwise)\n"
                 "  -n, --count COUNT     stop after COUNT records\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str());
}

struct Options {
    InputFormat input = InputFormat::cbor;
    OutputFormat output = OutputFormat::json;
    std::uint64_t count = 0;  // 0: no limit
};

// Reads one input to its end. Returns false when the -n count is reached.
bool cat(InputFile& in, const char* name, const Options& opt, RecordWriter& w, std::uint64_t& written) {
    std::variant<StreamDecoder, JsonLinesDecoder> dec;
    if (opt.input == InputFormat::json) dec.emplace<JsonLinesDecoder>();
    std::vector<std::byte> buf(64 * 1024);
    bool eof = false;
    while (!eof) {
        auto n = in.read_some(buf);
        if (!n) {
            w.flush();
            log::fatalx(n.error().exit_code, "%s: %s", name, n.error().what.c_str());
        }
        auto chunk = std::span<const std::byte>(buf.data(), *n);
        eof = *n == 0;
        std::visit([&](auto& d) { eof ? d.finish() : d.feed(chunk); }, dec);
        for (;;) {
            auto r = std::visit([](auto& d) { return d.next(); }, dec);
            if (!r) {
                w.flush();  // everything before the bad record is out
                log::fatalx(r.error().exit_code, "%s: %s", name, escape_controls(r.error().what).c_str());
            }
            if (!*r) break;
            w.write(**r, std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count());
            if (opt.count != 0 && ++written >= opt.count) {
                w.flush();
                return false;
            }
        }
        w.flush();
    }
    return true;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt;
    opt.output = default_output_format(OutputFormat::json);

    static const option long_options[] = {
        {"input", required_argument, nullptr, 'i'},
        {"output", required_argument, nullptr, 'o'},
        {"count", required_argument, nullptr, 'n'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;  // one line of our own instead of getopt's message plus usage
    while ((c = getopt_long(argc, argv, ":i:o:n:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'i':
            if (std::string_view(optarg) == "cbor") opt.input = InputFormat::cbor;
            else if (std::string_view(optarg) == "json") opt.input = InputFormat::json;
            else log::fatalx(EX_USAGE, "-i: unknown input format \"%s\" (cbor or json)", optarg);
            break;
        case 'o':
            if (auto f = parse_output_format(optarg)) opt.output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 'n': {
            char* end = nullptr;
            errno = 0;
            unsigned long long n = std::strtoull(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || n == 0 || optarg[0] == '-')
                log::fatalx(EX_USAGE, "-n: \"%s\" is not a positive count", optarg);
            opt.count = n;
            break;
        }
        case 'v':
            log::set_verbosity(log::verbosity() + 1);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            std::printf("timecat %s\n", TIMEPIPE_VERSION);
            return 0;
        default: getopt_failure(c, argv);
        }
    }

    RecordWriter w(opt.output);
    std::uint64_t written = 0;
    if (optind == argc) {
        auto in = InputFile::standard_input();
        cat(in, "stdin", opt, w, written);
        return 0;
    }
    for (int i = optind; i < argc; ++i) {
        if (std::string_view(argv[i]) == "-") {
            auto in = InputFile::standard_input();
            if (!cat(in, "stdin", opt, w, written)) break;
            continue;
        }
        auto in = InputFile::open_read(argv[i]);
        if (!in) log::fatalx(in.error().exit_code, "%s: %s", argv[i], in.error().what.c_str());
        log::info("%s: reading", argv[i]);
        if (!cat(*in, argv[i], opt, w, written)) break;
    }
    return 0;
}
