// The WebNTP JSON line: see webntp_message.hpp.
#include "libtime/http/webntp_message.hpp"

#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>

namespace timepipe::http {

namespace {

constexpr std::int64_t kMicro = 1000;  // nanoseconds per microsecond

// Appends the UTF-8 form of code point `cp`.
void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    // Overlong forms, surrogates and code points above U+10FFFF are not UTF-8.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void put_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = utf8_length(s, i);
            if (n == 0) { out += "\\ufffd"; ++i; continue; }
            out.append(s.substr(i, n));
            i += n;
            continue;
        }
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                std::array<char, 8> hex{};
                std::snprintf(hex.data(), hex.size(), "\\u%04x", c);
                out += hex.data();
            } else {
                out += static_cast<char>(c);
            }
        }
        ++i;
    }
    out += '"';
}

// A small strict JSON reader for one flat object.
class Reader {
public:
    explicit Reader(std::string_view s) : s_(s) {}

    Unexpected<Error> error(std::string why) const {
        return fail("byte " + std::to_string(pos_) + ": " + why);
    }
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
            ++pos_;
    }
    bool at_end() const { return pos_ >= s_.size(); }
    bool take(char c) {
        if (pos_ < s_.size() && s_[pos_] == c) { ++pos_; return true; }
        return false;
    }
    std::optional<char> peek() const {
        if (pos_ < s_.size()) return s_[pos_];
        return std::nullopt;
    }

    Result<unsigned> hex4() {
        if (pos_ + 4 > s_.size()) return error("truncated \\u escape");
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
            const char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else return error("bad \\u escape");
        }
        return v;
    }

    Result<std::string> string() {
        if (!take('"')) return error("expected '\"'");
        std::string out;
        for (;;) {
            if (at_end()) return error("unterminated string");
            const unsigned char c = static_cast<unsigned char>(s_[pos_]);
            if (c == '"') { ++pos_; return out; }
            if (c < 0x20) return error("control character in string");
            if (c >= 0x80) {
                const std::size_t n = utf8_length(s_, pos_);
                if (n == 0) return error("invalid UTF-8");
                out.append(s_.substr(pos_, n));
                pos_ += n;
                continue;
            }
            ++pos_;
            if (c != '\\') { out += static_cast<char>(c); continue; }
            if (at_end()) return error("unterminated string");
            const char e = s_[pos_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                auto hi = hex4();
                if (!hi) return Unexpected<Error>{hi.error()};
                std::uint32_t cp = *hi;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return error("lone low surrogate");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (!take('\\') || !take('u')) return error("lone high surrogate");
                    auto lo = hex4();
                    if (!lo) return Unexpected<Error>{lo.error()};
                    if (*lo < 0xDC00 || *lo > 0xDFFF) return error("bad surrogate pair");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (*lo - 0xDC00);
                }
                put_utf8(out, cp);
                break;
            }
            default: return error("bad escape");
            }
        }
    }

    // A JSON number's text, checked against JSON's grammar.
    Result<std::string_view> number() {
        const std::size_t start = pos_;
        take('-');
        const auto digits = [&] {
            std::size_t n = 0;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') { ++pos_; ++n; }
            return n;
        };
        const std::size_t int_start = pos_;
        if (digits() == 0) return error("expected a number");
        if (pos_ - int_start > 1 && s_[int_start] == '0') {
            pos_ = start;
            return error("leading zero in number");
        }
        if (take('.') && digits() == 0) return error("expected digits after '.'");
        if (take('e') || take('E')) {
            if (!take('+')) take('-');
            if (digits() == 0) return error("expected exponent digits");
        }
        return s_.substr(start, pos_ - start);
    }

    Result<void> literal(std::string_view word) {
        if (s_.substr(pos_, word.size()) != word) return error("unexpected character");
        pos_ += word.size();
        return {};
    }

    std::size_t pos() const { return pos_; }

private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

Result<int> parse_small_int(std::string_view text, int lo, int hi) {
    long v = 0;
    bool neg = false;
    std::size_t i = 0;
    if (i < text.size() && text[i] == '-') { neg = true; ++i; }
    if (i == text.size() || text.size() - i > 6) return fail("not a small integer");
    for (; i < text.size(); ++i) {
        if (text[i] < '0' || text[i] > '9') return fail("not an integer");
        v = v * 10 + (text[i] - '0');
    }
    if (neg) v = -v;
    if (v < lo || v > hi) return fail("out of range");
    return static_cast<int>(v);
}

}  // namespace

std::string format_timestamp(UnixNanos t) {
    // Round to microseconds, half away from zero, on the magnitude so that carry just works.
    const bool neg = t < 0;
    // |INT64_MIN| does not fit: work in unsigned.
    const std::uint64_t mag = neg ? (~static_cast<std::uint64_t>(t) + 1) : static_cast<std::uint64_t>(t);
    const std::uint64_t us = mag / kMicro + ((mag % kMicro) >= kMicro / 2 ? 1 : 0);
    const std::uint64_t sec = us / 1'000'000;
    const std::uint64_t frac = us % 1'000'000;
    std::array<char, 48> buf{};
    std::snprintf(buf.data(), buf.size(), "%s%llu.%06llu", (neg && us != 0) ? "-" : "",
                  static_cast<unsigned long long>(sec), static_cast<unsigned long long>(frac));
    return buf.data();
}

Result<UnixNanos> parse_timestamp(std::string_view s) {
    if (s.empty()) return fail("empty timestamp");
    std::size_t i = 0;
    const bool neg = s[0] == '-';
    if (neg) ++i;
    const std::size_t int_start = i;
    std::uint64_t sec = 0;
    // 9223372036 s is the last whole second of int64 nanoseconds; more digits cannot fit.
    constexpr std::uint64_t kMaxSec = 9'223'372'036;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        sec = sec * 10 + static_cast<std::uint64_t>(s[i] - '0');
        if (sec > kMaxSec) return fail("timestamp out of range");
    }
    if (i == int_start) return fail("timestamp: expected digits");
    std::uint64_t nsec = 0;
    if (i < s.size() && s[i] == '.') {
        ++i;
        const std::size_t frac_start = i;
        std::uint64_t scale = 100'000'000;
        for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
            if (i - frac_start >= 9) return fail("timestamp: more than 9 decimals");
            nsec += static_cast<std::uint64_t>(s[i] - '0') * scale;
            scale /= 10;
        }
        if (i == frac_start) return fail("timestamp: expected digits after '.'");
    }
    if (i != s.size()) return fail("timestamp: unexpected character");
    const std::uint64_t mag = sec * static_cast<std::uint64_t>(kNanosPerSecond) + nsec;
    constexpr std::uint64_t kMaxPos = static_cast<std::uint64_t>(INT64_MAX);
    if (mag > kMaxPos + (neg ? 1 : 0)) return fail("timestamp out of range");
    if (neg) return static_cast<UnixNanos>(~mag + 1);
    return static_cast<UnixNanos>(mag);
}

std::string to_json_line(const WebNtpReply& r) {
    std::string out;
    out.reserve(160);
    out += "{\"id\":";
    put_json_string(out, r.id);
    out += ",\"it\":" + format_timestamp(r.it);
    out += ",\"st\":" + format_timestamp(r.st);
    out += ",\"time\":" + format_timestamp(r.time);
    out += ",\"leap\":" + std::to_string(r.leap);
    out += ",\"next\":" + format_timestamp(r.next);
    out += ",\"step\":" + std::to_string(r.step);
    out += '}';
    return out;
}

Result<WebNtpReply> parse_json_line(std::string_view bytes) {
    Reader rd(bytes);
    WebNtpReply reply;
    enum : unsigned { kId = 1, kIt = 2, kSt = 4, kTime = 8, kLeap = 16, kNext = 32, kStep = 64, kAll = 127 };
    unsigned seen = 0;
    rd.skip_ws();
    if (!rd.take('{')) return rd.error("expected '{'");
    rd.skip_ws();
    bool first = true;
    while (!rd.take('}')) {
        if (!first) {
            if (!rd.take(',')) return rd.error("expected ',' or '}'");
            rd.skip_ws();
        }
        first = false;
        auto key = rd.string();
        if (!key) return Unexpected<Error>{key.error()};
        rd.skip_ws();
        if (!rd.take(':')) return rd.error("expected ':'");
        rd.skip_ws();
        const std::size_t value_pos = rd.pos();
        const auto value_error = [&](const std::string& why) {
            return fail("byte " + std::to_string(value_pos) + ": \"" + *key + "\": " + why);
        };
        unsigned bit = 0;
        if (*key == "id") bit = kId;
        else if (*key == "it") bit = kIt;
        else if (*key == "st") bit = kSt;
        else if (*key == "time") bit = kTime;
        else if (*key == "leap") bit = kLeap;
        else if (*key == "next") bit = kNext;
        else if (*key == "step") bit = kStep;
        if (bit != 0 && (seen & bit) != 0) return value_error("duplicate key");
        seen |= bit;
        if (bit == kId) {
            auto s = rd.string();
            if (!s) return Unexpected<Error>{s.error()};
            reply.id = std::move(*s);
        } else if (bit != 0) {
            if (rd.peek() == '"') return value_error("expected a number, got a string");
            auto num = rd.number();
            if (!num) return Unexpected<Error>{num.error()};
            if (bit == kLeap || bit == kStep) {
                auto v = bit == kLeap ? parse_small_int(*num, -1000, 1000) : parse_small_int(*num, -1, 1);
                if (!v) return value_error(v.error().what);
                (bit == kLeap ? reply.leap : reply.step) = *v;
            } else {
                auto t = parse_timestamp(*num);
                if (!t) return value_error(t.error().what);
                (bit == kIt ? reply.it : bit == kSt ? reply.st : bit == kTime ? reply.time : reply.next) = *t;
            }
        } else {
            // Unknown keys: tolerated with scalar values, as a newer server might add some.
            const auto c = rd.peek();
            if (c == '"') {
                auto s = rd.string();
                if (!s) return Unexpected<Error>{s.error()};
            } else if (c == 't') {
                if (auto r = rd.literal("true"); !r) return Unexpected<Error>{r.error()};
            } else if (c == 'f') {
                if (auto r = rd.literal("false"); !r) return Unexpected<Error>{r.error()};
            } else if (c == 'n') {
                if (auto r = rd.literal("null"); !r) return Unexpected<Error>{r.error()};
            } else {
                auto n = rd.number();
                if (!n) return Unexpected<Error>{n.error()};
            }
        }
        rd.skip_ws();
    }
    rd.skip_ws();
    if (!rd.at_end()) return rd.error("trailing bytes after the object");
    if (seen != kAll) {
        static constexpr std::array<const char*, 7> names{"id", "it", "st", "time", "leap", "next", "step"};
        for (std::size_t k = 0; k < names.size(); ++k)
            if ((seen & (1u << k)) == 0) return fail(std::string("missing key \"") + names[k] + "\"");
    }
    return reply;
}

}  // namespace timepipe::http
