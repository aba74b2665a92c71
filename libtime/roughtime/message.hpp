// Roughtime message codec (RFC 10049 §4; Google-Roughtime PROTOCOL.md "Message format"): a
// tag-value map serialised as
//
//   uint32 N | uint32 offset[N-1] | uint32 tag[N] | values
//
// all little-endian, tags strictly ascending as uint32 values, every offset (relative to the start
// of the values) a multiple of 4 and non-decreasing; the last value runs to the end. IETF versions
// wrap each packet in a 12-byte frame: "ROUGHTIM", uint32 message length (RFC 10049 §4.2).
//
//   auto m = roughtime::parse_message(bytes);            // Expected<MessageView, ParseError>
//   if (auto nonce = m->find(tag::NONC)) use(*nonce);
//   auto srep = m->message(tag::SREP);                   // a nested message, depth-limited
//
//   MessageBuilder b;  b.add(tag::NONC, nonce).add_u32(tag::TYPE, 0);
//   auto n = b.write(out);                               // sorted, byte-exact
//
// Zero allocation, no exceptions; the view borrows the caller's buffer.
// serialise(parse(bytes)) == bytes for every message that parses.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "libtime/base/expected.hpp"

namespace timepipe::roughtime {

using Tag = std::uint32_t;

// A tag is four octets read as a little-endian uint32: "NONC" is 0x434e4f4e.
constexpr Tag make_tag(char a, char b, char c, char d) {
    return std::uint32_t{static_cast<unsigned char>(a)} | (std::uint32_t{static_cast<unsigned char>(b)} << 8) |
           (std::uint32_t{static_cast<unsigned char>(c)} << 16) | (std::uint32_t{static_cast<unsigned char>(d)} << 24);
}

namespace tag {
inline constexpr Tag SIG = make_tag('S', 'I', 'G', '\0');
inline constexpr Tag VER = make_tag('V', 'E', 'R', '\0');
inline constexpr Tag SRV = make_tag('S', 'R', 'V', '\0');
inline constexpr Tag NONC = make_tag('N', 'O', 'N', 'C');
inline constexpr Tag DELE = make_tag('D', 'E', 'L', 'E');
inline constexpr Tag TYPE = make_tag('T', 'Y', 'P', 'E');
inline constexpr Tag PATH = make_tag('P', 'A', 'T', 'H');
inline constexpr Tag RADI = make_tag('R', 'A', 'D', 'I');
inline constexpr Tag PUBK = make_tag('P', 'U', 'B', 'K');
inline constexpr Tag MIDP = make_tag('M', 'I', 'D', 'P');
inline constexpr Tag SREP = make_tag('S', 'R', 'E', 'P');
inline constexpr Tag VERS = make_tag('V', 'E', 'R', 'S');
inline constexpr Tag MINT = make_tag('M', 'I', 'N', 'T');
inline constexpr Tag ROOT = make_tag('R', 'O', 'O', 'T');
inline constexpr Tag CERT = make_tag('C', 'E', 'R', 'T');
inline constexpr Tag MAXT = make_tag('M', 'A', 'X', 'T');
inline constexpr Tag INDX = make_tag('I', 'N', 'D', 'X');
inline constexpr Tag ZZZZ = make_tag('Z', 'Z', 'Z', 'Z');            // IETF padding
inline constexpr Tag PAD = make_tag('P', 'A', 'D', '\xff');          // Google-Roughtime padding
}  // namespace tag

// "NONC", "SIG\0" -> "SIG", "PAD\xff" -> "PAD\xff" as text; for messages and logs.
std::string tag_to_string(Tag t);

// CERT sits in the top-level response (depth 0) and holds DELE (depth 2); nothing legitimate
// nests deeper, and the bound keeps a hostile packet from recursing the parser.
inline constexpr int kMaxDepth = 2;

enum class ParseError {
    TooShort,          // under 4 octets, or shorter than its own header of 8N octets
    NotWordAligned,    // length not a multiple of 4
    TagsNotAscending,  // tags must be strictly ascending uint32 values (RFC 10049 §4)
    OffsetMisaligned,  // an offset not a multiple of 4
    OffsetsDecreasing,
    OffsetOutOfBounds,  // an offset past the end of the values
    TrailingBytes,      // a message with no tags must be exactly 4 octets
    TooDeep,            // message(tag) past kMaxDepth
    MissingTag,         // message(tag) for a tag that is absent
    BadFrame,           // an IETF packet not starting "ROUGHTIM" or shorter than 12 octets
    FrameLength,        // the frame's length field is not exactly the rest of the packet
};
std::string_view to_string(ParseError e);  // static strings

class MessageView {
public:
    MessageView() = default;

    std::size_t size() const { return count_; }  // number of tags
    bool empty() const { return count_ == 0; }
    Tag tag_at(std::size_t i) const;
    std::span<const std::byte> value_at(std::size_t i) const;
    std::span<const std::byte> bytes() const { return bytes_; }
    int depth() const { return depth_; }

    // Binary search: tags are strictly ascending once parsed.
    std::optional<std::span<const std::byte>> find(Tag t) const;
    bool contains(Tag t) const { return find(t).has_value(); }
    // The value of `t` parsed as a message one level deeper.
    Expected<MessageView, ParseError> message(Tag t) const;
    // Fixed-size little-endian integers: nullopt when absent or not exactly 4/8 octets.
    std::optional<std::uint32_t> u32(Tag t) const;
    std::optional<std::uint64_t> u64(Tag t) const;

private:
    friend Expected<MessageView, ParseError> parse_message(std::span<const std::byte>, int);
    std::span<const std::byte> bytes_;
    std::size_t count_ = 0;
    int depth_ = 0;
};

// One message, unframed. `depth` is how deep it sits inside another (0 = a whole packet).
Expected<MessageView, ParseError> parse_message(std::span<const std::byte> bytes, int depth = 0);

// --- framing (IETF versions) -----------------------------------------------------------------
inline constexpr std::size_t kFrameHeaderSize = 12;
inline constexpr std::array<std::byte, 8> kFrameMagic{std::byte{'R'}, std::byte{'O'}, std::byte{'U'},
                                                      std::byte{'G'}, std::byte{'H'}, std::byte{'T'},
                                                      std::byte{'I'}, std::byte{'M'}};
// True if the packet starts with "ROUGHTIM". A Google-Roughtime packet starts with its tag count,
// and "ROUG" as a count (0x47554f52) cannot fit in any datagram, so the two never collide.
bool is_framed(std::span<const std::byte> packet);
// The message inside a frame; the length must match the rest of the packet exactly.
Expected<std::span<const std::byte>, ParseError> unframe(std::span<const std::byte> packet);

// The one frame-header decoder, for streams (TCP, RFC 10049 §5) as for datagrams: the whole
// packet's length, frame included, that the header at the start of `stream` announces.
//   Incomplete   fewer than kFrameHeaderSize octets so far (read more)
//   BadFrame     not "ROUGHTIM"
//   TooLong      more than `max_packet` octets in all
enum class FrameError { Incomplete, BadFrame, TooLong };
std::string_view to_string(FrameError e);  // "incomplete frame header", "no ROUGHTIM frame", ...
Expected<std::size_t, FrameError> framed_length(std::span<const std::byte> stream, std::size_t max_packet);

// --- builder ---------------------------------------------------------------------------------
enum class BuildError {
    TooManyTags,     // more than MessageBuilder::kCapacity
    DuplicateTag,
    ValueNotAligned,  // a value whose length is not a multiple of 4
    BufferTooSmall,
    TooLarge,  // over 2^32 - 1 octets
};
std::string_view to_string(BuildError e);

// Collects up to kCapacity (tag, value) pairs and writes them sorted. Values given as spans are
// borrowed (they must outlive write()); integers are stored in the builder. No allocation.
//
// add() takes a view (std::span) or an lvalue container; a temporary container would be gone
// before write(), so passing one does not compile:
//   b.add(tag::NONC, nonce);                  // a std::vector / std::array the caller keeps
//   b.add(tag::PATH, std::span(path).first(n));  // a view of it
//   b.add(tag::PUBK, key_of(x));              // error: use of deleted function (a temporary)
class MessageBuilder {
public:
    static constexpr std::size_t kCapacity = 16;

    MessageBuilder& add(Tag t, std::span<const std::byte> value);
    // A temporary that owns its bytes (vector, array, string...): it would dangle.
    template <class Owner>
        requires(!std::ranges::borrowed_range<Owner> && std::is_constructible_v<std::span<const std::byte>, Owner>)
    MessageBuilder& add(Tag t, Owner&& value) = delete;
    MessageBuilder& add_u32(Tag t, std::uint32_t v);
    MessageBuilder& add_u64(Tag t, std::uint64_t v);
    // A value of `n` zero octets (padding), not stored.
    MessageBuilder& add_zeros(Tag t, std::size_t n);

    std::size_t count() const { return count_; }
    // Octets write() will produce (unframed).
    std::size_t encoded_size() const;
    // Writes the message; returns the octets written.
    Expected<std::size_t, BuildError> write(std::span<std::byte> out) const;
    // kFrameHeaderSize + the message, framed.
    Expected<std::size_t, BuildError> write_framed(std::span<std::byte> out) const;
    std::vector<std::byte> to_vector(bool framed = false) const;  // allocates; not for hot paths

private:
    struct Entry {
        Tag tag = 0;
        std::span<const std::byte> value;
        std::array<std::byte, 8> inline_value{};
        std::size_t zeros = 0;
        enum class Kind : std::uint8_t { Span, Inline, Zeros } kind = Kind::Span;
        std::size_t size() const;
    };
    Entry* next();
    std::array<Entry, kCapacity> entries_{};
    std::size_t count_ = 0;
    bool overflow_ = false;
};

// Little-endian helpers with explicit shifts, shared by the Roughtime modules.
std::uint32_t load_le32(std::span<const std::byte> p);
std::uint64_t load_le64(std::span<const std::byte> p);
void store_le32(std::span<std::byte> p, std::uint32_t v);
void store_le64(std::span<std::byte> p, std::uint64_t v);

}  // namespace timepipe::roughtime
