// Records as JSON lines: one JSON object per line, keys exactly the CBOR keys (man/time-stream.5).
//
//   std::fputs(to_json_line(record).c_str(), stdout);      // ends in '\n'
//
//   JsonLinesDecoder dec;                                  // same shape as StreamDecoder
//   dec.feed(chunk); ... dec.finish();
//   while (auto r = dec.next(); r && *r) use(**r);         // errors: "line 3: why"
//
// Byte strings have no JSON form: they are written as base64url text (RFC 8949 section 6.1), and
// read back as text. Blank lines are skipped. A last line without '\n' is accepted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/stream/codec.hpp"

namespace timepipe {

// One line, '\n' included. Floats keep a fraction or exponent ("1.0"), so reading the line back
// gives a float again; integers are exact.
std::string to_json_line(const Record& record);

// Parses one line (without its '\n') and checks it with check_record. `line_no` counts from 1
// and only goes into the error text: "line 3: ...".
Result<Record> parse_json_line(std::string_view line, std::uint64_t line_no);

class JsonLinesDecoder {
public:
    void feed(std::span<const std::byte> chunk);
    void feed(std::string_view chunk);
    void finish();
    // The next record; nullopt when more input is needed or the input ended cleanly after
    // finish(); an error once and for all on a bad line.
    Result<std::optional<Record>> next();

    // Lines consumed so far.
    std::uint64_t line() const { return line_; }

private:
    std::string buf_;
    std::size_t pos_ = 0;
    std::uint64_t line_ = 0;
    bool eof_ = false;
    std::optional<Error> failed_;
};

}  // namespace timepipe
