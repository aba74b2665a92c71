// NTS Key Establishment records (RFC 8915 §4): the framing both sides of nts-ke speak inside TLS.
// Pure code: bytes in, records out.
//
//   KeMessageReader in;                        // one per connection and direction
//   in.feed(bytes_from_tls);
//   auto m = in.message();                     // error, nothing yet, or a whole message
//   if (m && *m) for (const KeRecord& r : **m) ...
//
//   std::vector<std::byte> out;
//   append_record(out, true, KeRecordType::next_protocol, u16_body({kNextProtocolNtpv4}));
//   append_record(out, true, KeRecordType::end_of_message, {});
//
// Wire format of a record: C (1 bit, critical) | type (15 bits) | body length (16 bits) | body.
// A message is a sequence of records ending with End of Message (type 0), which is the only
// way a message ends; anything after it in the same stream is an error (a peer sends one
// message per connection). Errors name the record ("record 3 (type 4): body of 3 octets is
// not a list of 16-bit numbers").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::nts {

enum class KeRecordType : std::uint16_t {
    end_of_message = 0,
    next_protocol = 1,
    error = 2,
    warning = 3,
    aead_algorithm = 4,
    new_cookie = 5,
    server = 6,
    port = 7,
};

inline constexpr std::uint16_t kNextProtocolNtpv4 = 0;
inline constexpr std::size_t kKeRecordHeaderSize = 4;
// What one side accepts as one message: 8 cookies of chrony's or ours take about 1.5 KiB.
inline constexpr std::size_t kMaxKeMessageSize = 16 * 1024;

// Error record codes (RFC 8915 §4.1.3).
enum class KeErrorCode : std::uint16_t {
    unrecognized_critical_record = 0,
    bad_request = 1,
    internal_server_error = 2,
};
std::string ke_error_name(std::uint16_t code);  // "bad request", "error 9"

struct KeRecord {
    bool critical = false;
    std::uint16_t type = 0;
    std::vector<std::byte> body;
    friend bool operator==(const KeRecord&, const KeRecord&) = default;
};

void append_record(std::vector<std::byte>& out, bool critical, KeRecordType type, std::span<const std::byte> body);
void append_record(std::vector<std::byte>& out, const KeRecord& r);

// A body that is a list of 16-bit numbers (Next Protocol, AEAD, Error, Warning, Port), and back.
std::vector<std::byte> u16_body(std::span<const std::uint16_t> values);
std::vector<std::byte> u16_body(std::initializer_list<std::uint16_t> values);
Result<std::vector<std::uint16_t>> u16_list(const KeRecord& r);

// Reassembles one message from a byte stream that arrives in pieces.
class KeMessageReader {
public:
    void feed(std::span<const std::byte> bytes);
    // The message once its End of Message has arrived (records in order, End of Message
    // included); nullopt while incomplete. Errors: a message longer than kMaxKeMessageSize,
    // bytes after End of Message (also when fed after the message was returned).
    Result<std::optional<std::vector<KeRecord>>> message();

private:
    std::vector<std::byte> buf_;
    std::size_t at_ = 0;  // octets parsed into records_
    std::vector<KeRecord> records_;
    bool done_ = false;
};

// Parses a whole buffer that must hold exactly one message (tests, fuzzing, tools reading files).
Result<std::vector<KeRecord>> parse_ke_message(std::span<const std::byte> bytes);

}  // namespace timepipe::nts
