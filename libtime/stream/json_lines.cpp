#include "libtime/stream/json_lines.hpp"

#include <algorithm>
#include <utility>

namespace timepipe {
namespace {

bool has_binary(const Record& v) {
    if (v.is_binary()) return true;
    if (v.is_structured())
        return std::any_of(v.begin(), v.end(), [](const Record& e) { return has_binary(e); });
    return false;
}

std::string base64url(const std::vector<std::uint8_t>& in) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        std::uint32_t n = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
        for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(n >> s) & 63];
    }
    if (std::size_t rest = in.size() - i; rest > 0) {  // no padding, as RFC 8949 6.1 says
        std::uint32_t n = std::uint32_t{in[i]} << 16;
        if (rest == 2) n |= std::uint32_t{in[i + 1]} << 8;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        if (rest == 2) out += kAlphabet[(n >> 6) & 63];
    }
    return out;
}

// A copy of `v` with byte strings replaced by their base64url text.
Record without_binary(const Record& v) {
    if (v.is_binary()) return Record(base64url(v.get_binary()));
    if (v.is_array()) {
        Record a = Record::array();
        for (const auto& e : v) a.push_back(without_binary(e));
        return a;
    }
    if (v.is_object()) {
        Record o = Record::object();
        for (const auto& item : v.items()) o[item.key()] = without_binary(item.value());
        return o;
    }
    return v;
}

// nlohmann's messages start "[json.exception.parse_error.101] parse error at line 1, ": keep
// what follows, and not too much of it (it quotes the input).
std::string parse_why(const std::string& what) {
    std::string why = what;
    if (auto at = why.find("at line 1, "); at != std::string::npos) why.erase(0, at + 11);
    else if (auto close = why.find("] "); close != std::string::npos) why.erase(0, close + 2);
    if (why.size() > 160) why = why.substr(0, 157) + "...";
    return why;
}

}  // namespace

std::string to_json_line(const Record& record) {
    // `replace`: never throw on a string that is not UTF-8 (decoded records never have one).
    std::string line = has_binary(record)
        ? without_binary(record).dump(-1, ' ', false, Record::error_handler_t::replace)
        : record.dump(-1, ' ', false, Record::error_handler_t::replace);
    line += '\n';
    return line;
}

Result<Record> parse_json_line(std::string_view line, std::uint64_t line_no) {
    auto where = "line " + std::to_string(line_no) + ": ";
    if (line.size() > kMaxRecordBytes)
        return fail(where + "longer than " + std::to_string(kMaxRecordBytes) + " bytes");
    Record r;
    try {
        r = Record::parse(line);
    } catch (const Record::exception& e) {  // parse_error, or out_of_range for 1e999
        return fail(where + parse_why(e.what()));
    }
    if (auto ok = check_record(r); !ok) return fail(where + ok.error().what);
    return r;
}

void JsonLinesDecoder::feed(std::span<const std::byte> chunk) {
    for (auto b : chunk) buf_ += static_cast<char>(b);
}

void JsonLinesDecoder::feed(std::string_view chunk) { buf_.append(chunk); }

void JsonLinesDecoder::finish() { eof_ = true; }

Result<std::optional<Record>> JsonLinesDecoder::next() {
    if (failed_) return Unexpected<Error>{*failed_};
    for (;;) {
        auto nl = buf_.find('\n', pos_);
        if (nl == std::string::npos) {
            if (buf_.size() - pos_ > kMaxRecordBytes) {
                failed_ = Error{"line " + std::to_string(line_ + 1) + ": longer than " +
                                    std::to_string(kMaxRecordBytes) + " bytes", EX_DATAERR};
                return Unexpected<Error>{*failed_};
            }
            if (!eof_ || pos_ == buf_.size()) {
                buf_.erase(0, pos_);
                pos_ = 0;
                return std::optional<Record>{};
            }
            nl = buf_.size();  // the last line has no '\n'
        }
        std::string_view line(buf_.data() + pos_, nl - pos_);
        pos_ = std::min(nl + 1, buf_.size());
        ++line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        auto r = parse_json_line(line, line_);
        if (!r) {
            failed_ = r.error();
            return Unexpected<Error>{*failed_};
        }
        return std::optional<Record>{std::move(*r)};
    }
}

}  // namespace timepipe
