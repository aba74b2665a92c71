// NMEA 0183 as a GPS receiver sends it, pure: bytes to sentences (framing, checksum) and the
// sentences that carry time and fix (GGA, RMC, ZDA, GNS) to values. No clock, no device: the
// caller stamps each chunk with the local time its read() returned (libtime/refclock/gps.hpp
// groups sentences into epochs). See man/gps-reader.1.
//
//   SentenceSplitter split;
//   split.feed(chunk, read_time, [&](std::string_view line, UnixNanos first_byte) {
//       auto s = parse_sentence(line);          // "$GPGGA,...*hh" without the line end
//       if (!s) log::debugx("%s", s.error().what.c_str());   // "GPGGA: bad checksum ..."
//       ...
//   });
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::refclock {

// NMEA's own limit is 82 bytes with the line end; receivers exceed it (long GSV, proprietary
// sentences), so up to this many bytes from '$' to the checksum's last digit are taken.
inline constexpr std::size_t kMaxSentence = 128;

// Splits a byte stream into sentences: from '$' to the line end (CR or LF). Bytes outside a
// sentence are garbage and skipped; a '$' inside one starts over (the earlier one was cut short);
// a line longer than kMaxSentence is dropped whole. Each sentence carries the read time of the
// chunk its '$' arrived in.
class SentenceSplitter {
public:
    using Sink = std::function<void(std::string_view line, UnixNanos first_byte)>;

    void feed(std::span<const std::byte> chunk, UnixNanos read_time, const Sink& sink);

    std::uint64_t garbage_bytes() const { return garbage_; }
    std::uint64_t truncated() const { return truncated_; }
    std::uint64_t too_long() const { return too_long_; }

private:
    enum class State { outside, inside, overlong };
    State state_ = State::outside;
    std::string line_;
    UnixNanos started_ = 0;
    std::uint64_t garbage_ = 0, truncated_ = 0, too_long_ = 0;
};

// UTC as a receiver names it. second is 60 during an inserted leap second.
struct NmeaTime {
    int hour = 0, minute = 0, second = 0;
    std::int64_t nanos = 0;  // fraction of the second
    friend bool operator==(const NmeaTime&, const NmeaTime&) = default;
};
struct NmeaDate {
    int year = 0, month = 0, day = 0;  // four-digit year (RMC's two digits: 80-99 -> 19xx)
    friend bool operator==(const NmeaDate&, const NmeaDate&) = default;
};

// One sentence with what it says about time and fix. Fields a sentence does not carry, or
// leaves empty, stay unset.
struct Sentence {
    std::string talker;   // "GP", "GN", "GL", "GA", "BD", ...
    std::string type;     // "GGA", "RMC", "ZDA", "GNS"
    std::optional<NmeaTime> time;
    std::optional<NmeaDate> date;       // RMC, ZDA
    std::optional<bool> valid;          // RMC: status A (and mode not N); GGA/GNS: quality >= 1
    std::optional<int> quality;         // GGA: 0-8
    std::optional<char> status;         // RMC: 'A' or 'V'
    std::optional<std::string> mode;    // RMC's mode indicator, GNS's mode characters
    std::optional<int> satellites;      // GGA, GNS
    std::optional<double> hdop;         // GGA, GNS
    std::optional<double> latitude;     // degrees, north positive
    std::optional<double> longitude;    // degrees, east positive
    std::optional<double> altitude;     // m above mean sea level (GGA, GNS)
};

enum class SentenceFault { none, not_sentence, no_checksum, bad_checksum, unknown_type, bad_field };

// Checks "$TTSSS,...*hh" (no line end): the checksum is the XOR of the bytes between '$' and
// '*', two hex digits, required. Then the fields of GGA, RMC, ZDA and GNS from any two-letter
// talker. Errors: "GPRMC: bad checksum 1F, computed 2A", "GPGGA: latitude: \"48x\" is not a
// number"; exit_code EX_DATAERR. An unknown type fails with reason unknown_type, set in `fault`.
Result<Sentence> parse_sentence(std::string_view line, SentenceFault* fault = nullptr);

// The XOR of the bytes of `body` (between '$' and '*').
std::uint8_t nmea_checksum(std::string_view body);

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's algorithms).
std::int64_t days_from_civil(int year, int month, int day);
NmeaDate civil_from_days(std::int64_t days);

// "2026-03-01T12:00:02.000Z" (milliseconds, as gpsd's TPV "time"); second may be 60.
std::string iso8601_utc(const NmeaDate& date, const NmeaTime& time);

}  // namespace timepipe::refclock
