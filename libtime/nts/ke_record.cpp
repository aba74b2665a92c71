#include "libtime/nts/ke_record.hpp"

namespace timepipe::nts {

namespace {

std::uint16_t be16(const std::byte* p) {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}

void put16(std::vector<std::byte>& out, std::uint16_t v) {
    out.push_back(static_cast<std::byte>(v >> 8));
    out.push_back(static_cast<std::byte>(v & 0xFF));
}

}  // namespace

std::string ke_error_name(std::uint16_t code) {
    switch (code) {
    case 0: return "unrecognized critical record";
    case 1: return "bad request";
    case 2: return "internal server error";
    default: return "error " + std::to_string(code);
    }
}

void append_record(std::vector<std::byte>& out, bool critical, KeRecordType type, std::span<const std::byte> body) {
    put16(out, static_cast<std::uint16_t>((critical ? 0x8000 : 0) | static_cast<std::uint16_t>(type)));
    put16(out, static_cast<std::uint16_t>(body.size()));
    out.insert(out.end(), body.begin(), body.end());
}

void append_record(std::vector<std::byte>& out, const KeRecord& r) {
    put16(out, static_cast<std::uint16_t>((r.critical ? 0x8000 : 0) | (r.type & 0x7FFF)));
    put16(out, static_cast<std::uint16_t>(r.body.size()));
    out.insert(out.end(), r.body.begin(), r.body.end());
}

std::vector<std::byte> u16_body(std::span<const std::uint16_t> values) {
    std::vector<std::byte> b;
    for (auto v : values) put16(b, v);
    return b;
}

std::vector<std::byte> u16_body(std::initializer_list<std::uint16_t> values) {
    return u16_body(std::span<const std::uint16_t>(values.begin(), values.size()));
}

Result<std::vector<std::uint16_t>> u16_list(const KeRecord& r) {
    if (r.body.size() % 2 != 0)
        return fail("record type " + std::to_string(r.type) + ": body of " + std::to_string(r.body.size()) +
                    " octets is not a list of 16-bit numbers");
    std::vector<std::uint16_t> v;
    for (std::size_t i = 0; i < r.body.size(); i += 2) v.push_back(be16(r.body.data() + i));
    return v;
}

void KeMessageReader::feed(std::span<const std::byte> bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }

// Parses whole records from where the last call stopped: a peer that sends one octet at a time
// costs one header check per octet, not a rescan.
Result<std::optional<std::vector<KeRecord>>> KeMessageReader::message() {
    if (done_) {
        if (buf_.size() > at_) return fail(std::to_string(buf_.size() - at_) + " octets after End of Message");
        return std::optional<std::vector<KeRecord>>();
    }
    while (buf_.size() - at_ >= kKeRecordHeaderSize) {
        std::uint16_t head = be16(buf_.data() + at_);
        std::size_t len = be16(buf_.data() + at_ + 2);
        if (at_ + kKeRecordHeaderSize + len > kMaxKeMessageSize)
            return fail("message longer than " + std::to_string(kMaxKeMessageSize) + " octets");
        if (buf_.size() - at_ - kKeRecordHeaderSize < len) break;
        KeRecord r;
        r.critical = (head & 0x8000) != 0;
        r.type = head & 0x7FFF;
        auto body = buf_.begin() + static_cast<std::ptrdiff_t>(at_ + kKeRecordHeaderSize);
        r.body.assign(body, body + static_cast<std::ptrdiff_t>(len));
        at_ += kKeRecordHeaderSize + len;
        bool last = r.type == static_cast<std::uint16_t>(KeRecordType::end_of_message);
        records_.push_back(std::move(r));
        if (last) {
            done_ = true;
            if (at_ != buf_.size()) return fail(std::to_string(buf_.size() - at_) + " octets after End of Message");
            return std::optional<std::vector<KeRecord>>(std::move(records_));
        }
    }
    return std::optional<std::vector<KeRecord>>();
}

Result<std::vector<KeRecord>> parse_ke_message(std::span<const std::byte> bytes) {
    KeMessageReader r;
    r.feed(bytes);
    auto m = r.message();
    if (!m) return Unexpected<Error>{m.error()};
    if (!*m) return fail("truncated: no End of Message in " + std::to_string(bytes.size()) + " octets");
    return std::move(**m);
}

}  // namespace timepipe::nts
