// NTPv4 extension fields (RFC 7822) and the legacy MAC that may follow them (RFC 5905 §7.3).
// Pure code over spans; nothing allocates. Most callers use libtime/ntp/packet.hpp, which calls this.
//
//   for (ExtensionField f : view.extensions)          // iterate a parsed packet's fields
//       if (f.type == 0x0104) use(f.value);           // value includes any padding
//   if (auto uid = view.extensions.find(0x0104)) ...
//
// Wire format of one field: type (16 bits), length (16 bits, whole field in octets, header
// and padding included), value, zero padding to a multiple of 4. Length rules:
//   - every field is at least 16 octets and a multiple of 4, and fits in what remains;
//   - ExtensionRules::Rfc7822: after the fields a packet may carry a legacy MAC of 4 (crypto-NAK,
//     key id only), 20 (MD5) or 24 (SHA-1) octets; the parser reads any trailing <= 24 octets as
//     that MAC. So a packet WITHOUT a MAC must end in a field of at least 28 octets (RFC 7822
//     §7.5.1.4): a shorter last field IS mistaken for a MAC (20 or 24 octets) or rejected as a
//     bad MAC length (16); write_extensions() pads the last field for that reason;
//   - ExtensionRules::Nts: NTS packets (RFC 8915) never carry a legacy MAC, so there is nothing
//     to disambiguate and RFC 8915 §5.7 relaxes the 28-octet rule: every octet after the header
//     is an extension field and the last one needs only the general 16 octets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "libtime/base/expected.hpp"

namespace timepipe::ntp {

enum class ExtensionRules { Rfc7822, Nts };

inline constexpr std::size_t kFieldHeaderSize = 4;
inline constexpr std::size_t kMinFieldSize = 16;
inline constexpr std::size_t kMinLastFieldSize = 28;  // RFC 7822, no MAC
inline constexpr std::size_t kMaxFieldSize = 0xFFFC;  // largest multiple of 4 in 16 bits
inline constexpr std::size_t kMaxLegacyMacSize = 24;

struct ExtensionField {
    std::uint16_t type = 0;
    std::span<const std::byte> value;  // after the 4-octet header; parsed fields keep their padding
};

// A run of well-formed fields (as split_extensions() returns). Iterating an arbitrary span is
// safe: iteration stops at the first malformed header.
class ExtensionFields {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = ExtensionField;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = ExtensionField;  // decoded on the fly
        iterator() = default;
        explicit iterator(std::span<const std::byte> rest) : rest_(rest) { check(); }
        ExtensionField operator*() const;
        iterator& operator++();
        iterator operator++(int) { iterator old = *this; ++*this; return old; }
        friend bool operator==(const iterator& a, const iterator& b) { return a.rest_.size() == b.rest_.size(); }

    private:
        void check();  // becomes end() when rest_ does not start with a valid field
        std::span<const std::byte> rest_;
    };

    ExtensionFields() = default;
    explicit ExtensionFields(std::span<const std::byte> region) : region_(region) {}
    iterator begin() const { return iterator(region_); }
    iterator end() const { return iterator(); }
    bool empty() const { return region_.empty(); }
    std::size_t count() const;
    std::span<const std::byte> bytes() const { return region_; }
    std::optional<ExtensionField> find(std::uint16_t type) const;  // first field of that type

private:
    std::span<const std::byte> region_;
};

enum class ExtensionError {
    BadField,      // a length < 16, not a multiple of 4, or past the end of the packet
    BadMacLength,  // trailing octets that are neither fields nor a 4/20/24-octet MAC
    Misaligned,    // the region is not a whole number of 32-bit words
};
std::string_view to_string(ExtensionError e);

struct SplitRegion {
    ExtensionFields fields;
    std::span<const std::byte> mac;  // empty, or 4, 20 or 24 octets: key id then digest
};

// Splits what follows the 48-octet NTPv4 header into fields and legacy MAC, checking every rule.
Expected<SplitRegion, ExtensionError> split_extensions(std::span<const std::byte> region,
                                                       ExtensionRules rules = ExtensionRules::Rfc7822);

// Serialisation failures, shared with libtime/ntp/packet.hpp's serialize().
enum class SerializeError {
    BufferTooSmall,
    FieldTooLong,  // a value that cannot fit a 16-bit length
    BadMacLength,  // digest not 0, 16 or 20 octets, or a MAC under ExtensionRules::Nts
    BadHeader,     // a header field out of range, or extension fields with version != 4
};
std::string_view to_string(SerializeError e);

// Octets one field takes on the wire: header + value, zero-padded to a multiple of 4 and to at
// least `min_size`.
constexpr std::size_t field_wire_size(std::size_t value_size, std::size_t min_size) {
    std::size_t n = (kFieldHeaderSize + value_size + 3) & ~std::size_t{3};
    return n < min_size ? min_size : n;
}

// Minimum size of the last field given the legacy MAC that follows it (0: none). Under
// Rfc7822 the last field and the MAC together must exceed 24 octets, or the parser would read
// them as one MAC: 28 without a MAC (RFC 7822 §7.5.1.4), 24 before a crypto-NAK, 16 before a
// 20/24-octet MAC. Under Nts always 16.
constexpr std::size_t min_last_field_size(std::size_t mac_size, ExtensionRules rules) {
    if (rules == ExtensionRules::Nts || mac_size >= kMinLastFieldSize - kMinFieldSize) return kMinFieldSize;
    return kMinLastFieldSize - mac_size;
}

// Writes `fields` back to back into `out`, each padded to field_wire_size(), the last one to
// min_last_field_size(mac_size, rules). Returns the octets written. Parsed fields (whose
// values keep their padding) re-serialise to the same octets.
Expected<std::size_t, SerializeError> write_extensions(std::span<const ExtensionField> fields, std::size_t mac_size,
                                                       ExtensionRules rules, std::span<std::byte> out);

}  // namespace timepipe::ntp
