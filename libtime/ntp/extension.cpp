#include "libtime/ntp/extension.hpp"

#include <algorithm>

namespace timepipe::ntp {
namespace {

std::uint16_t load_be16(std::span<const std::byte> p) {
    return static_cast<std::uint16_t>((std::to_integer<unsigned>(p[0]) << 8) | std::to_integer<unsigned>(p[1]));
}

void store_be16(std::span<std::byte> p, std::uint16_t v) {
    p[0] = static_cast<std::byte>(v >> 8);
    p[1] = static_cast<std::byte>(v);
}

// Length of the field at the start of `rest`, or 0 if its header breaks a general rule.
std::size_t field_length(std::span<const std::byte> rest) {
    if (rest.size() < kFieldHeaderSize) return 0;
    const std::size_t len = load_be16(rest.subspan(2));
    if (len < kMinFieldSize || len % 4 != 0 || len > rest.size()) return 0;
    return len;
}

}  // namespace

ExtensionField ExtensionFields::iterator::operator*() const {
    const std::size_t len = load_be16(rest_.subspan(2));
    return {load_be16(rest_), rest_.subspan(kFieldHeaderSize, len - kFieldHeaderSize)};
}

ExtensionFields::iterator& ExtensionFields::iterator::operator++() {
    rest_ = rest_.subspan(load_be16(rest_.subspan(2)));
    check();
    return *this;
}

void ExtensionFields::iterator::check() {
    if (field_length(rest_) == 0) rest_ = {};
}

std::size_t ExtensionFields::count() const {
    return static_cast<std::size_t>(std::distance(begin(), end()));
}

std::optional<ExtensionField> ExtensionFields::find(std::uint16_t type) const {
    for (ExtensionField f : *this)
        if (f.type == type) return f;
    return std::nullopt;
}

std::string_view to_string(ExtensionError e) {
    switch (e) {
    case ExtensionError::BadField: return "malformed extension field";
    case ExtensionError::BadMacLength: return "bad MAC length";
    case ExtensionError::Misaligned: return "trailing bytes";
    }
    return "unknown extension error";
}

std::string_view to_string(SerializeError e) {
    switch (e) {
    case SerializeError::BufferTooSmall: return "buffer too small";
    case SerializeError::FieldTooLong: return "extension field too long";
    case SerializeError::BadMacLength: return "bad MAC length";
    case SerializeError::BadHeader: return "header field out of range";
    }
    return "unknown serialize error";
}

Expected<SplitRegion, ExtensionError> split_extensions(std::span<const std::byte> region, ExtensionRules rules) {
    if (region.size() % 4 != 0) return unexpected(ExtensionError::Misaligned);

    // With legacy MACs possible, a tail of <= 24 octets is a MAC, never a field (RFC 7822 §7.5.1.4).
    const std::size_t mac_room = rules == ExtensionRules::Rfc7822 ? kMaxLegacyMacSize : 0;
    std::size_t pos = 0;
    while (region.size() - pos > mac_room) {
        const std::size_t len = field_length(region.subspan(pos));
        if (len == 0) return unexpected(ExtensionError::BadField);
        pos += len;
    }

    // The loop itself enforces the 28-octet rule: a last field it consumed had more than 24
    // octets left, and a shorter trailing field is read (and judged) as a MAC instead.
    const auto mac = region.subspan(pos);
    if (!mac.empty() && mac.size() != 4 && mac.size() != 20 && mac.size() != 24)
        return unexpected(ExtensionError::BadMacLength);
    return SplitRegion{ExtensionFields(region.first(pos)), mac};
}

Expected<std::size_t, SerializeError> write_extensions(std::span<const ExtensionField> fields, std::size_t mac_size,
                                                       ExtensionRules rules, std::span<std::byte> out) {
    std::size_t pos = 0;
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const std::size_t min_size = i + 1 == fields.size() ? min_last_field_size(mac_size, rules) : kMinFieldSize;
        const auto& f = fields[i];
        if (f.value.size() > kMaxFieldSize - kFieldHeaderSize) return unexpected(SerializeError::FieldTooLong);
        const std::size_t len = field_wire_size(f.value.size(), min_size);
        if (out.size() - pos < len) return unexpected(SerializeError::BufferTooSmall);

        auto dst = out.subspan(pos, len);
        store_be16(dst, f.type);
        store_be16(dst.subspan(2), static_cast<std::uint16_t>(len));
        auto tail = std::copy(f.value.begin(), f.value.end(), dst.begin() + kFieldHeaderSize);
        std::fill(tail, dst.end(), std::byte{0});
        pos += len;
    }
    return pos;
}

}  // namespace timepipe::ntp
