#include "libtime/sys/pps_sim.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <optional>
#include <vector>

#include "libtime/sys/clock.hpp"
#include "libtime/sys/file.hpp"

namespace timepipe {

namespace {

constexpr std::size_t kMaxLine = 1024;

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
        std::size_t j = i;
        while (j < s.size() && s[j] != ' ' && s[j] != '\t' && s[j] != '\r') ++j;
        if (j > i) out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
    return out + (s.size() > 40 ? "...\"" : "\"");
}

std::optional<std::uint32_t> parse_sequence(std::string_view s) {
    std::uint32_t v = 0;
    if (!all_digits(s)) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// "1700000012.000001234" -> ns, exactly (no floating point); up to 9 fraction digits.
std::optional<UnixNanos> parse_time(std::string_view s) {
    auto dot = s.find('.');
    std::string_view whole = s.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
    if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(frac)) || frac.size() > 9)
        return std::nullopt;
    std::int64_t sec = 0;
    auto [p, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), sec);
    if (ec != std::errc() || p != whole.data() + whole.size() || sec > INT64_MAX / kNanosPerSecond - 1) return std::nullopt;
    std::int64_t ns = 0;
    for (std::size_t i = 0; i < 9; ++i) ns = ns * 10 + (i < frac.size() ? frac[i] - '0' : 0);
    return sec * kNanosPerSecond + ns;
}

std::optional<int> parse_caps(std::string_view s) {
    static const std::array<std::pair<std::string_view, int>, 10> kNames{{
        {"assert", pps_mode::kCaptureAssert}, {"clear", pps_mode::kCaptureClear},
        {"offsetassert", pps_mode::kOffsetAssert}, {"offsetclear", pps_mode::kOffsetClear},
        {"echoassert", pps_mode::kEchoAssert}, {"echoclear", pps_mode::kEchoClear},
        {"canwait", pps_mode::kCanWait}, {"canpoll", pps_mode::kCanPoll},
        {"tspec", pps_mode::kTsfmtTspec}, {"ntpfp", pps_mode::kTsfmtNtpfp},
    }};
    if (s == "none") return 0;
    int caps = 0;
    while (!s.empty()) {
        auto comma = s.find(',');
        auto name = s.substr(0, comma);
        bool found = false;
        for (const auto& [n, bit] : kNames)
            if (n == name) { caps |= bit; found = true; }
        if (!found) return std::nullopt;
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
        if (s.empty()) return std::nullopt;
    }
    return caps;
}

std::string format_time(UnixNanos t) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(t / kNanosPerSecond),
                  static_cast<long long>(t % kNanosPerSecond));
    return buf;
}

class SimulatedPpsDevice final : public PpsDevice {
public:
    explicit SimulatedPpsDevice(InputFile in) : in_(std::move(in)) {}

    // The caps line comes before the first edge, so it is read here.
    Result<void> start() {
        auto line = next_item();
        if (!line) return Unexpected<Error>{line.error()};
        if (*line && (*line)->kind == PpsSimLine::Kind::caps) caps_ = (*line)->caps;
        else pending_ = *line;
        return {};
    }

    Result<int> capabilities() override { return caps_; }
    Result<void> enable(PpsEdge edge) override { return check_pps_capabilities(caps_, edge); }

    Result<std::optional<PpsFetch>> fetch(std::chrono::nanoseconds timeout) override {
        std::optional<PpsSimLine> item;
        if (pending_) item = std::exchange(pending_, std::nullopt);
        else {
            auto line = next_item();
            if (!line) return Unexpected<Error>{line.error()};
            item = *line;
        }
        if (!item) { ended_ = true; return std::optional<PpsFetch>{}; }
        if (item->kind == PpsSimLine::Kind::caps)
            return fail("line " + std::to_string(line_no_) + ": caps only before the first edge");
        if (item->kind == PpsSimLine::Kind::timeout) {
            sleep_for(timeout);  // a PPS_FETCH that times out takes its timeout (a signal ends it)
            return std::optional<PpsFetch>{};
        }
        return std::optional<PpsFetch>{item->fetch};
    }

    bool ended() const override { return ended_; }

private:
    // The next non-blank line parsed, or nullopt at the end of the file.
    Result<std::optional<PpsSimLine>> next_item() {
        for (;;) {
            auto line = next_line();
            if (!line) return Unexpected<Error>{line.error()};
            if (!*line) return std::optional<PpsSimLine>{};
            auto parsed = parse_pps_sim_line(**line);
            if (!parsed) return fail("line " + std::to_string(line_no_) + ": " + parsed.error().what);
            if (parsed->kind != PpsSimLine::Kind::blank) return std::optional<PpsSimLine>{*parsed};
        }
    }

    Result<std::optional<std::string>> next_line() {
        for (;;) {
            auto nl = buf_.find('\n', scanned_);
            if (nl != std::string::npos) {
                std::string line = buf_.substr(0, nl);
                buf_.erase(0, nl + 1);
                scanned_ = 0;
                ++line_no_;
                return std::optional<std::string>{std::move(line)};
            }
            scanned_ = buf_.size();
            if (buf_.size() > kMaxLine) return fail("line " + std::to_string(line_no_ + 1) + ": longer than 1024 bytes");
            if (eof_) {
                if (buf_.empty()) return std::optional<std::string>{};
                ++line_no_;
                return std::optional<std::string>{std::exchange(buf_, {})};  // no final newline
            }
            std::array<std::byte, 4096> chunk;
            auto n = in_.read_some(chunk);
            if (!n) return Unexpected<Error>{n.error()};
            if (*n == 0) eof_ = true;
            buf_.append(reinterpret_cast<const char*>(chunk.data()), *n);
        }
    }

    InputFile in_;
    std::string buf_;
    std::size_t scanned_ = 0;
    bool eof_ = false;
    bool ended_ = false;
    std::size_t line_no_ = 0;
    int caps_ = kPpsSimDefaultCaps;
    std::optional<PpsSimLine> pending_;
};

}  // namespace

Result<PpsSimLine> parse_pps_sim_line(std::string_view line) {
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto w = words(line);
    PpsSimLine out;
    if (w.empty()) return out;
    if (w[0] == "timeout") {
        if (w.size() != 1) return fail("\"timeout\" takes nothing after it");
        out.kind = PpsSimLine::Kind::timeout;
        return out;
    }
    if (w[0] == "caps") {
        if (w.size() != 2) return fail("\"caps\" takes one comma-separated list");
        auto caps = parse_caps(w[1]);
        if (!caps) return fail("bad caps " + quoted(w[1]) + ": not names from assert, clear, offsetassert, "
                               "offsetclear, echoassert, echoclear, canwait, canpoll, tspec, ntpfp");
        out.kind = PpsSimLine::Kind::caps;
        out.caps = *caps;
        return out;
    }
    if (w.size() != 4) return fail("expected ASSERT_SEQ ASSERT_TIME CLEAR_SEQ CLEAR_TIME, \"timeout\" or \"caps\"");
    auto as = parse_sequence(w[0]);
    if (!as) return fail("bad assert sequence " + quoted(w[0]) + ": not an integer from 0 to 4294967295");
    auto at = parse_time(w[1]);
    if (!at) return fail("bad assert time " + quoted(w[1]) + ": not seconds.fraction");
    auto cs = parse_sequence(w[2]);
    if (!cs) return fail("bad clear sequence " + quoted(w[2]) + ": not an integer from 0 to 4294967295");
    auto ct = parse_time(w[3]);
    if (!ct) return fail("bad clear time " + quoted(w[3]) + ": not seconds.fraction");
    out.kind = PpsSimLine::Kind::fetch;
    out.fetch = PpsFetch{*as, *at, *cs, *ct};
    return out;
}

std::string format_pps_sim_line(const PpsSimLine& line) {
    switch (line.kind) {
    case PpsSimLine::Kind::blank: return "";
    case PpsSimLine::Kind::timeout: return "timeout";
    case PpsSimLine::Kind::caps: return "caps " + describe_pps_mode(line.caps);
    case PpsSimLine::Kind::fetch:
        return std::to_string(line.fetch.assert_sequence) + " " + format_time(line.fetch.assert_time) + " " +
               std::to_string(line.fetch.clear_sequence) + " " + format_time(line.fetch.clear_time);
    }
    return "";
}

Result<std::unique_ptr<PpsDevice>> open_simulated_pps(const std::string& path) {
    auto in = InputFile::open_read(path.c_str());
    if (!in) return Unexpected<Error>{in.error()};
    auto dev = std::make_unique<SimulatedPpsDevice>(std::move(*in));
    if (auto ok = dev->start(); !ok) return Unexpected<Error>{ok.error()};
    return std::unique_ptr<PpsDevice>(std::move(dev));
}

}  // namespace timepipe
