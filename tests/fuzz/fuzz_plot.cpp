// timeplot's path from bytes to a gnuplot script: the bytes decoded as timeplot decodes a file
// (JSON lines when the first byte that is not white space is '{' or there is none, else
// CBOR), every record given to a PlotCollector, the script written. Properties: no crash; the script obeys
// script_problem's rules (printable ASCII, numbers-only data blocks, no command words or
// unsafe characters outside quotes, quoted text only of safe characters); and every legend
// entry is safe_text of a source name (or the discipline's fixed one), the title safe_text of
// the title: no text of the input reaches the script any other way.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "libtime/observe/plot.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/json_lines.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

template <class Decoder>
void drain(Decoder& dec, PlotCollector& plot, std::vector<std::string>& texts) {
    for (;;) {
        auto r = dec.next();
        if (!r || !*r) return;
        auto& rec = **r;
        if (auto it = rec.find("source"); it != rec.end() && it->is_string()) texts.push_back(it->template get<std::string>());
        plot.add(rec);
    }
}

[[noreturn]] void fail(const char* what, const std::string& detail, const std::string& script) {
    std::fprintf(stderr, "%s: %s\n%s", what, detail.c_str(), script.c_str());
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto bytes = std::as_bytes(std::span(data, size));
    std::size_t i = 0;
    while (i < size && std::isspace(data[i])) ++i;
    PlotFilter filter;
    filter.max_sources = 8;
    filter.max_points = 4096;
    PlotCollector plot(filter);
    std::vector<std::string> texts;
    if (i == size || data[i] == '{') {
        JsonLinesDecoder dec;
        dec.feed(bytes);
        dec.finish();
        drain(dec, plot, texts);
    } else {
        StreamDecoder dec;
        dec.feed(bytes);
        dec.finish();
        drain(dec, plot, texts);
    }
    PlotStyle style;
    style.format = size % 2 ? PlotFormat::svg : PlotFormat::png;
    style.title = texts.empty() ? std::string() : texts.back();
    auto script = gnuplot_script(plot.data(), style);
    if (auto bad = script_problem(script)) fail("unsafe script", *bad, script);
    std::set<std::string> legends = {"discipline (tracking)"};
    for (auto& t : texts) legends.insert(safe_text(t, 48));
    static constexpr std::string_view kTitle = " title '";
    for (auto at = script.find(kTitle); at != std::string::npos; at = script.find(kTitle, at + 1)) {
        auto from = at + kTitle.size();
        auto shown = script.substr(from, script.find('\'', from) - from);
        bool multiplot = at >= 13 && script.compare(at - 13, 13, "set multiplot") == 0;
        if (multiplot ? shown != safe_text(style.title, 120) : !legends.contains(shown))
            fail("a title that is not safe_text of the input", shown, script);
    }
    return 0;
}
