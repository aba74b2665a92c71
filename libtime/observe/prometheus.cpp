#include "libtime/observe/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>
#include <sysexits.h>

namespace timepipe::observe {

namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

// Length of the valid UTF-8 sequence starting at s[i], or 0 (overlong forms, surrogates and
// code points above U+10FFFF are invalid, as Go's utf8.ValidString has it).
std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((b(i + k) & 0xC0) != 0x80) return 0;
    if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogate
    if (n == 4 && c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
    if (n == 4 && c == 0xF4 && b(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return n;
}

std::string escape(std::string_view s, bool quote) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        char c = s[i];
        std::size_t n = utf8_length(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD for one bad byte
            ++i;
            continue;
        }
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '"' && quote) out += "\\\"";
        else out.append(s.substr(i, n));
        i += n;
    }
    return out;
}

}  // namespace

bool valid_metric_name(std::string_view name) {
    if (name.empty() || !(name_start(name[0]) || name[0] == ':')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return name_char(c) || c == ':'; });
}

bool valid_label_name(std::string_view name) {
    if (name.empty() || !name_start(name[0]) || name.starts_with("__")) return false;
    return std::all_of(name.begin(), name.end(), name_char);
}

std::string escape_label_value(std::string_view value) { return escape(value, true); }
std::string escape_help(std::string_view text) { return escape(text, false); }

std::string format_value(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    if (v == 0) return "0";   // -0 too, as client_golang's writeFloat has it
    // Shortest round-trip digits from to_chars ("-1.2345e-05"), then laid out as Go's %g does.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
    bool neg = sci.front() == '-';
    if (neg) sci.remove_prefix(1);
    std::size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e))
        if (c != '.') digits += c;
    int exp = std::atoi(std::string(sci.substr(e + 1)).c_str());
    std::string out = neg ? "-" : "";
    const int nd = static_cast<int>(digits.size());
    if (exp < -4 || exp >= 6) {
        out += digits[0];
        if (nd > 1) out += "." + digits.substr(1);
        out += exp < 0 ? "e-" : "e+";
        int a = std::abs(exp);
        if (a < 10) out += '0';
        out += std::to_string(a);
    } else if (exp < 0) {
        out += "0." + std::string(static_cast<std::size_t>(-exp - 1), '0') + digits;
    } else if (nd <= exp + 1) {
        out += digits + std::string(static_cast<std::size_t>(exp + 1 - nd), '0');
    } else {
        out += digits.substr(0, static_cast<std::size_t>(exp + 1)) + "." + digits.substr(static_cast<std::size_t>(exp + 1));
    }
    return out;
}

Result<void> Exposition::family(std::string name, MetricType type, std::string help) {
    if (!valid_metric_name(name)) return fail("metric name \"" + escape_help(name) + "\": not valid", EX_SOFTWARE);
    if (index_.count(name)) return fail("metric " + name + ": declared twice", EX_SOFTWARE);
    if (type == MetricType::counter && !name.ends_with("_total"))
        return fail("counter " + name + ": name does not end in _total", EX_SOFTWARE);
    index_.emplace(name, families_.size());
    families_.push_back(Family{std::move(name), type, std::move(help), {}, {}});
    return {};
}

Result<void> Exposition::add(std::string_view name, const Labels& labels, double value) {
    auto f = index_.find(name);
    if (f != index_.end() && families_[f->second].type == MetricType::counter && !(value >= 0))
        return fail("counter " + std::string(name) + ": value " + format_value(value) + " not 0 or more", EX_SOFTWARE);
    return add_line(name, labels, format_value(value));
}

Result<void> Exposition::add(std::string_view name, const Labels& labels, std::uint64_t value) {
    return add_line(name, labels, std::to_string(value));
}

Result<void> Exposition::add_line(std::string_view name, const Labels& labels, const std::string& value) {
    auto f = index_.find(name);
    if (f == index_.end()) return fail("metric " + escape_help(name) + ": not declared", EX_SOFTWARE);
    Family& fam = families_[f->second];
    std::vector<std::pair<std::string, std::string>> key;
    std::string line = fam.name;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto& [k, v] = labels[i];
        if (!valid_label_name(k)) return fail(fam.name + ": label name \"" + escape_help(k) + "\": not valid", EX_SOFTWARE);
        for (std::size_t j = 0; j < i; ++j)
            if (labels[j].first == k) return fail(fam.name + ": label " + k + " given twice", EX_SOFTWARE);
        line += i == 0 ? "{" : ",";
        line += k + "=\"" + escape_label_value(v) + "\"";
        if (!v.empty()) key.emplace_back(k, escape_label_value(v));
    }
    if (!labels.empty()) line += "}";
    std::sort(key.begin(), key.end());
    std::string canonical;
    for (const auto& [k, v] : key) canonical += k + "=\"" + v + "\",";
    if (!fam.series.insert(canonical).second) return fail(fam.name + "{" + canonical + "}: series added twice", EX_SOFTWARE);
    fam.lines.push_back(line + " " + value);
    return {};
}

std::size_t Exposition::samples() const {
    std::size_t n = 0;
    for (const auto& f : families_) n += f.lines.size();
    return n;
}

std::string Exposition::text() const {
    std::string out;
    for (const auto& f : families_) {
        if (f.lines.empty()) continue;
        out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
        out += "# TYPE " + f.name + (f.type == MetricType::counter ? " counter\n" : " gauge\n");
        for (const auto& l : f.lines) out += l + "\n";
    }
    return out;
}

}  // namespace timepipe::observe
