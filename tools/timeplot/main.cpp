// timeplot: a time stream (CBOR or JSON lines; recorded, or a file still growing) drawn as a PNG
// or SVG through gnuplot: offset with delay/2 error bars, frequency and poll over time, one trace
// per source. See man/timeplot.1.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <span>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/plot.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/json_lines.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/child_pipe.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/file_follow.hpp"
#include "libtime/sys/signal.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::observe;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-T png|svg] [-s WxH] [-o FILE] [--title TEXT]\n"
                 "        [--from TIME] [--to TIME] [--source PATTERN]... [--script]\n"
                 "        [-f [-i DURATION]] [file ...]\n"
                 "  draws offset, frequency and poll over time from a time stream (CBOR or\n"
                 "  JSON lines, told apart by the first byte) with gnuplot\n"
                 "  -T, --type FORMAT       png or svg (default: from -o's extension, else png)\n"
                 "  -s, --size WxH          image size (default 1200x900)\n"
                 "  -o, --output FILE       write the image to FILE (default: standard output,\n"
                 "                          which must not be a terminal)\n"
                 "  --title TEXT            a title above the panels\n"
                 "  --from TIME, --to TIME  only records in this span (2025-05-22T20:00:00Z or\n"
                 "                          seconds since 1970)\n"
                 "  --source PATTERN        only samples of sources matching this shell\n"
                 "                          pattern (repeatable)\n"
                 "  --script                print the gnuplot script instead of running it\n"
                 "  -f, --follow            redraw -o FILE whenever the one input file grows\n"
                 "  -i, --interval DURATION how often to look when following (default 10s)\n"
                 "  -v, --verbose           more messages on standard error\n"
                 "  -h, --help              this help\n"
                 "  -V, --version           print the version\n",
                 std::string(log::program()).c_str());
}

struct Options {
    PlotStyle style;
    std::optional<PlotFormat> format;
    std::string output;
    PlotFilter filter;
    bool follow = false;
    bool script = false;
    std::chrono::nanoseconds interval = std::chrono::seconds(10);
    std::vector<std::string> inputs;
};

// Reads one input into `plot`. CBOR or JSON lines by the first byte that is not white space.
// `whole`: a cut-short last record is an error; when following, it is a record still being
// written and waits for the next round.
void read_input(const std::string& name, PlotCollector& plot, bool whole) {
    bool stdin_input = name == "-";
    auto file = stdin_input ? Result<InputFile>(InputFile::standard_input()) : InputFile::open_read(name.c_str());
    const char* label = stdin_input ? "stdin" : name.c_str();
    if (!file) log::fatalx(file.error().exit_code, "%s: %s", label, file.error().what.c_str());
    std::variant<std::monostate, StreamDecoder, JsonLinesDecoder> dec;
    std::vector<std::byte> buf(64 * 1024), held;  // held: white space read before the decision
    for (;;) {
        auto n = file->read_some(buf);
        if (!n) log::fatalx(n.error().exit_code, "%s: %s", label, n.error().what.c_str());
        auto chunk = std::span<const std::byte>(buf.data(), *n);
        if (std::holds_alternative<std::monostate>(dec)) {
            std::size_t i = 0;
            while (i < chunk.size() && std::isspace(std::to_integer<unsigned char>(chunk[i]))) ++i;
            if (i == chunk.size() && *n != 0) {
                held.insert(held.end(), chunk.begin(), chunk.end());
                continue;
            }
            // Only white space to the end reads as JSON lines: blank ones, no records.
            if (i == chunk.size() || chunk[i] == std::byte{'{'}) dec.emplace<JsonLinesDecoder>();
            else dec.emplace<StreamDecoder>();
            // Every byte goes to the decoder: a CBOR stream's offsets count from the first.
            std::visit([&](auto& d) {
                if constexpr (!std::is_same_v<std::decay_t<decltype(d)>, std::monostate>) d.feed(held);
            }, dec);
        }
        bool eof = *n == 0;
        std::visit(
            [&](auto& d) {
                if constexpr (!std::is_same_v<std::decay_t<decltype(d)>, std::monostate>) {
                    if (!eof) d.feed(chunk);
                    else if (whole) d.finish();
                    for (;;) {
                        auto r = d.next();
                        if (!r)
                            log::fatalx(r.error().exit_code, "%s: %s", label, escape_controls(r.error().what).c_str());
                        if (!*r) break;
                        plot.add(**r);
                    }
                }
            },
            dec);
        if (eof) return;
    }
}

PlotData collect(const Options& opt, bool whole) {
    PlotCollector plot(opt.filter);
    for (auto& in : opt.inputs) read_input(in, plot, whole);
    const auto& d = plot.data();
    if (d.skipped) log::info("%zu records could not be plotted (not valid records of their type)", d.skipped);
    if (d.dropped)
        log::warnx("%zu points beyond the limits (%zu sources, %zu points) left out", d.dropped,
                   opt.filter.max_sources, opt.filter.max_points);
    return d;
}

// The image, or exits: 69 without gnuplot, 70 when it fails.
std::string render(const PlotData& data, const PlotStyle& style) {
    auto script = gnuplot_script(data, style);
    // Never reached with gnuplot_script as it is: a last guard before text runs as commands.
    if (auto bad = script_problem(script)) log::fatalx(EX_SOFTWARE, "refusing to run the script: %s", bad->c_str());
    // -d: no initialisation files (~/.gnuplot), the same picture for every user.
    auto r = run_filter({"gnuplot", "-d"}, script);
    if (!r && r.error().what.ends_with("No such file or directory"))
        log::fatalx(EX_UNAVAILABLE, "gnuplot not found: apt-get install gnuplot-nox");
    if (!r) log::fatalx(r.error().exit_code == EX_UNAVAILABLE ? EX_UNAVAILABLE : EX_SOFTWARE, "gnuplot: %s",
                        r.error().what.c_str());
    std::string first = r->error.substr(0, r->error.find('\n'));
    while (!first.empty() && first.front() == ' ') first.erase(0, 1);
    if (r->exit_status != 0 || r->output.empty())
        log::fatalx(EX_SOFTWARE, "gnuplot: %s", first.empty() ? r->status.c_str() : escape_controls(first).c_str());
    if (!r->error.empty()) log::info("gnuplot: %s", escape_controls(first).c_str());
    return std::move(r->output);
}

void write_image(const Options& opt, const std::string& image) {
    if (!opt.output.empty()) {
        if (auto ok = write_file_atomic(opt.output.c_str(), image); !ok)
            log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
        return;
    }
    if (std::fwrite(image.data(), 1, image.size(), stdout) != image.size() || std::fflush(stdout) != 0)
        log::fatal(EX_IOERR, "standard output");
}

// -f: redraw whenever the file's size or identity changes, until SIGINT or SIGTERM.
int follow(const Options& opt) {
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
    std::optional<FileIdentity> drawn;
    const char* path = opt.inputs[0].c_str();
    while (!stop_requested()) {
        auto now = identify(path);
        if (!now) log::fatalx(now.error().exit_code, "%s: %s", path, now.error().what.c_str());
        if (!drawn || !now->same_file(*drawn) || now->size != drawn->size) {
            auto data = collect(opt, false);
            if (has_points(data)) {
                write_image(opt, render(data, opt.style));
                log::info("%s: drew %zu samples", opt.output.c_str(), data.samples);
            }
            drawn = *now;
        }
        for (auto waited = std::chrono::nanoseconds(0); waited < opt.interval && !stop_requested();
             waited += std::chrono::milliseconds(100))
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return 0;
}

std::optional<PlotFormat> format_of(std::string_view name) {
    if (name == "png") return PlotFormat::png;
    if (name == "svg") return PlotFormat::svg;
    return std::nullopt;
}

void parse_size(const char* arg, PlotStyle& style) {
    int w = 0, h = 0;
    char tail = 0;
    if (std::sscanf(arg, "%dx%d%c", &w, &h, &tail) != 2 || w < 200 || w > 10000 || h < 150 || h > 10000)
        log::fatalx(EX_USAGE, "-s: \"%s\" is not WIDTHxHEIGHT (200x150 to 10000x10000)", arg);
    style.width = w;
    style.height = h;
}

UnixNanos time_option(const char* opt, const char* arg) {
    auto t = parse_plot_time(arg);
    if (!t) log::fatalx(EX_USAGE, "%s: \"%s\" is not a time (2025-05-22T20:00:00Z or seconds since 1970)", opt, arg);
    return *t;
}

enum LongOnly { kTitle = 256, kFrom, kTo, kSource, kScript };

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt;
    static const option long_options[] = {
        {"type", required_argument, nullptr, 'T'},     {"size", required_argument, nullptr, 's'},
        {"output", required_argument, nullptr, 'o'},   {"title", required_argument, nullptr, kTitle},
        {"from", required_argument, nullptr, kFrom},   {"to", required_argument, nullptr, kTo},
        {"source", required_argument, nullptr, kSource}, {"follow", no_argument, nullptr, 'f'},
        {"script", no_argument, nullptr, kScript},
        {"interval", required_argument, nullptr, 'i'}, {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},           {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":T:s:o:fi:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'T':
            opt.format = format_of(optarg);
            if (!opt.format) log::fatalx(EX_USAGE, "-T: unknown image type \"%s\" (png or svg)", optarg);
            break;
        case 's': parse_size(optarg, opt.style); break;
        case 'o':
            opt.output = optarg;
            if (opt.output.empty()) log::fatalx(EX_USAGE, "-o: empty file name");
            break;
        case kTitle: opt.style.title = optarg; break;
        case kFrom: opt.filter.from = time_option("--from", optarg); break;
        case kTo: opt.filter.to = time_option("--to", optarg); break;
        case kSource: opt.filter.sources.emplace_back(optarg); break;
        case 'f': opt.follow = true; break;
        case kScript: opt.script = true; break;
        case 'i': opt.interval = duration_option("-i", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("timeplot %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    for (int i = optind; i < argc; ++i) opt.inputs.emplace_back(argv[i]);
    if (opt.inputs.empty()) opt.inputs.emplace_back("-");
    if (opt.filter.from && opt.filter.to && *opt.filter.from > *opt.filter.to)
        log::fatalx(EX_USAGE, "--from: after --to");

    if (opt.format) {
        opt.style.format = *opt.format;
    } else if (!opt.output.empty()) {
        auto dot = opt.output.rfind('.');
        auto ext = format_of(dot == std::string::npos ? "" : std::string_view(opt.output).substr(dot + 1));
        if (!ext)
            log::fatalx(EX_USAGE, "-o: cannot tell the image type of \"%s\" (.png or .svg, or give -T)",
                        escape_controls(opt.output).c_str());
        opt.style.format = *ext;
    }
    if (opt.output.empty() && stdout_is_terminal() && !opt.script)
        log::fatalx(EX_USAGE, "standard output is a terminal: give -o FILE or redirect it");
    if (opt.follow && (opt.output.empty() || opt.inputs.size() != 1 || opt.inputs[0] == "-"))
        log::fatalx(EX_USAGE, "-f: needs -o FILE and one input file (not standard input)");
    if (opt.follow) return follow(opt);

    auto data = collect(opt, true);
    if (!has_points(data))
        log::fatalx(EX_DATAERR, "%s: no samples, tracking or adjust records%s",
                    opt.inputs.size() == 1 ? (opt.inputs[0] == "-" ? "stdin" : escape_controls(opt.inputs[0]).c_str())
                                           : "input",
                    opt.filter.from || opt.filter.to || !opt.filter.sources.empty() ? " (in the span and sources asked)" : "");
    write_image(opt, opt.script ? gnuplot_script(data, opt.style) : render(data, opt.style));
    return 0;
}
