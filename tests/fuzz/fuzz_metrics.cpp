// Arbitrary CBOR record sequences as status snapshots, through render_metrics. Each `status`
// record that reads as one starts a new snapshot (records before the first go to a default
// tool); a record of type "down" adds a socket that did not answer, named by its source. The
// snapshots are built directly (not by decode_snapshot), so any record a decoder lets through
// reaches the renderer. Properties: the output always parses back under a minimal checker of the
// text format 0.0.4 (every line a HELP/TYPE comment or `name{labels} value`, HELP before TYPE
// before the family's samples, each family once, label values with only \\ \" \n escapes and no
// raw newline, valid UTF-8, values numbers or NaN/+Inf/-Inf, counters not negative, no series
// twice), and rendering is deterministic.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "libtime/observe/metrics.hpp"
#include "libtime/observe/prometheus.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

bool valid_value(const std::string& v, bool counter) {
    if (v == "NaN" || v == "+Inf" || v == "-Inf") return !counter || v == "+Inf";
    if (v.empty()) return false;
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (*end != '\0' || std::isnan(d) || std::isinf(d)) return false;
    return !counter || d >= 0;
}

// Checks one sample line of family `family`; returns the series (name and labels).
std::string check_sample(std::string_view line, const std::string& family, bool counter) {
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    if (line.substr(0, i) != family) fail();
    std::set<std::string> names;
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (true) {
            std::size_t start = i;
            while (i < line.size() && line[i] != '=') ++i;
            std::string name(line.substr(start, i - start));
            if (!valid_label_name(name) || !names.insert(name).second) fail();
            if (++i >= line.size() || line[i] != '"') fail();
            for (++i;; ++i) {
                if (i >= line.size() || line[i] == '\n') fail();
                if (line[i] == '"') break;
                if (line[i] == '\\') {
                    if (++i >= line.size() || (line[i] != '\\' && line[i] != '"' && line[i] != 'n')) fail();
                }
            }
            ++i;
            if (i >= line.size()) fail();
            if (line[i] == '}') break;
            if (line[i] != ',') fail();
            ++i;
        }
        ++i;
    }
    if (i >= line.size() || line[i] != ' ') fail();
    if (!valid_value(std::string(line.substr(i + 1)), counter)) fail();
    return std::string(line.substr(0, i));
}

void check_exposition(const std::string& text) {
    if (!valid_utf8(text)) fail();
    if (!text.empty() && text.back() != '\n') fail();
    std::set<std::string> families, series;
    std::string family, help_of;
    bool counter = false, typed = false;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t nl = text.find('\n', pos);
        std::string_view line(text.data() + pos, nl - pos);
        pos = nl + 1;
        if (line.starts_with("# HELP ")) {
            std::string_view rest = line.substr(7);
            std::string name(rest.substr(0, rest.find(' ')));
            if (!valid_metric_name(name) || !families.insert(name).second) fail();
            if (rest.size() == name.size()) fail();
            for (std::size_t k = name.size() + 1; k < rest.size(); ++k)
                if (rest[k] == '\\' && (++k >= rest.size() || (rest[k] != '\\' && rest[k] != 'n'))) fail();
            help_of = name;
            typed = false;
        } else if (line.starts_with("# TYPE ")) {
            std::string_view rest = line.substr(7);
            if (rest != help_of + " gauge" && rest != help_of + " counter") fail();
            family = help_of;
            counter = rest.ends_with(" counter");
            typed = true;
        } else {
            if (!typed || line.empty() || line[0] == '#') fail();
            if (!series.insert(check_sample(line, family, counter)).second) fail();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    StreamDecoder dec;
    dec.feed(std::as_bytes(std::span(data, size)));
    dec.finish();

    std::vector<Scrape> scrapes;
    for (;;) {
        auto r = dec.next();
        if (!r || !*r) break;   // the records before a decoding error still count
        Record& rec = **r;
        std::string_view type = record_type(rec);
        if (type == ToolStatus::kType) {
            if (auto who = from_record<ToolStatus>(rec)) {
                std::string endpoint = who->instance.value_or("/fuzz/" + std::to_string(scrapes.size()));
                Scrape s;
                s.endpoint = endpoint;
                s.snapshot = Snapshot{std::move(endpoint), std::move(*who), {}};
                scrapes.push_back(std::move(s));
                continue;
            }
        }
        if (type == "down") {
            auto src = rec.find("source");
            Scrape s;
            s.endpoint = src != rec.end() && src->is_string() ? src->get<std::string>() : "/fuzz/down";
            s.error = "fuzz";
            scrapes.push_back(std::move(s));
            continue;
        }
        if (scrapes.empty() || !scrapes.back().snapshot) {
            ToolStatus who{"fuzz-tool", 0, 1, 0, "0", {}};
            Scrape s;
            s.endpoint = "/fuzz/" + std::to_string(scrapes.size());
            s.snapshot = Snapshot{s.endpoint, std::move(who), {}};
            scrapes.push_back(std::move(s));
        }
        scrapes.back().snapshot->records.push_back(std::move(rec));
    }

    RestartTracker tracker;
    tracker.track(scrapes);
    tracker.track(scrapes);
    std::string text = render_metrics(scrapes);
    check_exposition(text);
    if (render_metrics(scrapes) != text) fail();
    return 0;
}
