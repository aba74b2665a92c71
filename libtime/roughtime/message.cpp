#include "libtime/roughtime/message.hpp"

#include <algorithm>

namespace timepipe::roughtime {

std::uint32_t load_le32(std::span<const std::byte> p) {
    return std::to_integer<std::uint32_t>(p[0]) | (std::to_integer<std::uint32_t>(p[1]) << 8) |
           (std::to_integer<std::uint32_t>(p[2]) << 16) | (std::to_integer<std::uint32_t>(p[3]) << 24);
}

std::uint64_t load_le64(std::span<const std::byte> p) {
    return std::uint64_t{load_le32(p)} | (std::uint64_t{load_le32(p.subspan(4))} << 32);
}

void store_le32(std::span<std::byte> p, std::uint32_t v) {
    p[0] = static_cast<std::byte>(v);
    p[1] = static_cast<std::byte>(v >> 8);
    p[2] = static_cast<std::byte>(v >> 16);
    p[3] = static_cast<std::byte>(v >> 24);
}

void store_le64(std::span<std::byte> p, std::uint64_t v) {
    store_le32(p, static_cast<std::uint32_t>(v));
    store_le32(p.subspan(4), static_cast<std::uint32_t>(v >> 32));
}

std::string tag_to_string(Tag t) {
    std::string s;
    for (int i = 0; i < 4; ++i) {
        const auto c = static_cast<unsigned char>(t >> (8 * i));
        if (c == 0 && i == 3) break;  // "SIG\0", "VER\0": the NUL is padding
        if (c >= 0x21 && c <= 0x7e) {
            s += static_cast<char>(c);
        } else {
            static constexpr char kHex[] = "0123456789abcdef";
            s += "\\x";
            s += kHex[c >> 4];
            s += kHex[c & 15];
        }
    }
    return s;
}

std::string_view to_string(ParseError e) {
    switch (e) {
    case ParseError::TooShort: return "message too short";
    case ParseError::NotWordAligned: return "message length not a multiple of 4";
    case ParseError::TagsNotAscending: return "tags not strictly ascending";
    case ParseError::OffsetMisaligned: return "offset not a multiple of 4";
    case ParseError::OffsetsDecreasing: return "offsets decreasing";
    case ParseError::OffsetOutOfBounds: return "offset out of bounds";
    case ParseError::TrailingBytes: return "trailing bytes after an empty message";
    case ParseError::TooDeep: return "messages nested too deep";
    case ParseError::MissingTag: return "tag missing";
    case ParseError::BadFrame: return "no ROUGHTIM frame";
    case ParseError::FrameLength: return "frame length does not match the packet";
    }
    return "unknown parse error";
}

std::string_view to_string(BuildError e) {
    switch (e) {
    case BuildError::TooManyTags: return "too many tags";
    case BuildError::DuplicateTag: return "duplicate tag";
    case BuildError::ValueNotAligned: return "value length not a multiple of 4";
    case BuildError::BufferTooSmall: return "buffer too small";
    case BuildError::TooLarge: return "message too large";
    }
    return "unknown build error";
}

// --- parsing ---------------------------------------------------------------------------------

Expected<MessageView, ParseError> parse_message(std::span<const std::byte> bytes, int depth) {
    if (depth > kMaxDepth) return unexpected(ParseError::TooDeep);
    if (bytes.size() < 4) return unexpected(ParseError::TooShort);
    if (bytes.size() % 4 != 0) return unexpected(ParseError::NotWordAligned);
    const std::uint64_t n = load_le32(bytes);
    if (n == 0) {
        if (bytes.size() != 4) return unexpected(ParseError::TrailingBytes);
        MessageView v;
        v.bytes_ = bytes;
        v.depth_ = depth;
        return v;
    }
    // Header: count, N-1 offsets, N tags = 8N octets; 64-bit so a huge N cannot wrap.
    const std::uint64_t header = 8 * n;
    if (header > bytes.size()) return unexpected(ParseError::TooShort);
    const std::uint64_t values = bytes.size() - header;

    std::uint32_t prev_offset = 0;
    for (std::uint64_t i = 1; i < n; ++i) {
        const std::uint32_t off = load_le32(bytes.subspan(4 * i));
        if (off % 4 != 0) return unexpected(ParseError::OffsetMisaligned);
        if (off < prev_offset) return unexpected(ParseError::OffsetsDecreasing);
        if (off > values) return unexpected(ParseError::OffsetOutOfBounds);
        prev_offset = off;
    }
    const auto tags = bytes.subspan(4 * n);
    for (std::uint64_t i = 1; i < n; ++i) {
        if (load_le32(tags.subspan(4 * (i - 1))) >= load_le32(tags.subspan(4 * i)))
            return unexpected(ParseError::TagsNotAscending);
    }
    MessageView v;
    v.bytes_ = bytes;
    v.count_ = static_cast<std::size_t>(n);
    v.depth_ = depth;
    return v;
}

Tag MessageView::tag_at(std::size_t i) const { return load_le32(bytes_.subspan(4 * count_ + 4 * i)); }

std::span<const std::byte> MessageView::value_at(std::size_t i) const {
    const std::size_t header = 8 * count_;
    const std::size_t begin = i == 0 ? 0 : load_le32(bytes_.subspan(4 * i));
    const std::size_t end = i + 1 == count_ ? bytes_.size() - header : load_le32(bytes_.subspan(4 * (i + 1)));
    return bytes_.subspan(header + begin, end - begin);
}

std::optional<std::span<const std::byte>> MessageView::find(Tag t) const {
    std::size_t lo = 0;
    std::size_t hi = count_;
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        const Tag m = tag_at(mid);
        if (m == t) return value_at(mid);
        if (m < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return std::nullopt;
}

Expected<MessageView, ParseError> MessageView::message(Tag t) const {
    if (depth_ + 1 > kMaxDepth) return unexpected(ParseError::TooDeep);
    auto v = find(t);
    if (!v) return unexpected(ParseError::MissingTag);
    return parse_message(*v, depth_ + 1);
}

std::optional<std::uint32_t> MessageView::u32(Tag t) const {
    auto v = find(t);
    if (!v || v->size() != 4) return std::nullopt;
    return load_le32(*v);
}

std::optional<std::uint64_t> MessageView::u64(Tag t) const {
    auto v = find(t);
    if (!v || v->size() != 8) return std::nullopt;
    return load_le64(*v);
}

// --- framing ---------------------------------------------------------------------------------

bool is_framed(std::span<const std::byte> packet) {
    return packet.size() >= kFrameMagic.size() && std::equal(kFrameMagic.begin(), kFrameMagic.end(), packet.begin());
}

std::string_view to_string(FrameError e) {
    switch (e) {
    case FrameError::Incomplete: return "incomplete frame header";
    case FrameError::BadFrame: return "no ROUGHTIM frame";
    case FrameError::TooLong: return "frame announces a packet too long";
    }
    return "bad frame";
}

Expected<std::size_t, FrameError> framed_length(std::span<const std::byte> stream, std::size_t max_packet) {
    const std::size_t seen = std::min(stream.size(), kFrameMagic.size());
    if (!std::equal(kFrameMagic.begin(), kFrameMagic.begin() + static_cast<std::ptrdiff_t>(seen), stream.begin()))
        return unexpected(FrameError::BadFrame);  // known bad before the header is complete
    if (stream.size() < kFrameHeaderSize) return unexpected(FrameError::Incomplete);
    const std::uint64_t total = std::uint64_t{kFrameHeaderSize} + load_le32(stream.subspan(8));
    if (total > max_packet) return unexpected(FrameError::TooLong);
    return static_cast<std::size_t>(total);
}

Expected<std::span<const std::byte>, ParseError> unframe(std::span<const std::byte> packet) {
    auto total = framed_length(packet, packet.size() + 1);
    if (!total) return unexpected(total.error() == FrameError::TooLong ? ParseError::FrameLength : ParseError::BadFrame);
    if (*total != packet.size()) return unexpected(ParseError::FrameLength);
    return packet.subspan(kFrameHeaderSize);
}

// --- building --------------------------------------------------------------------------------

std::size_t MessageBuilder::Entry::size() const {
    switch (kind) {
    case Kind::Span: return value.size();
    case Kind::Inline: return zeros;  // 4 or 8, kept in `zeros`
    case Kind::Zeros: return zeros;
    }
    return 0;
}

MessageBuilder::Entry* MessageBuilder::next() {
    if (count_ == kCapacity) {
        overflow_ = true;
        return nullptr;
    }
    return &entries_[count_++];
}

MessageBuilder& MessageBuilder::add(Tag t, std::span<const std::byte> value) {
    if (Entry* e = next()) *e = Entry{t, value, {}, 0, Entry::Kind::Span};
    return *this;
}

MessageBuilder& MessageBuilder::add_u32(Tag t, std::uint32_t v) {
    if (Entry* e = next()) {
        *e = Entry{t, {}, {}, 4, Entry::Kind::Inline};
        store_le32(e->inline_value, v);
    }
    return *this;
}

MessageBuilder& MessageBuilder::add_u64(Tag t, std::uint64_t v) {
    if (Entry* e = next()) {
        *e = Entry{t, {}, {}, 8, Entry::Kind::Inline};
        store_le64(e->inline_value, v);
    }
    return *this;
}

MessageBuilder& MessageBuilder::add_zeros(Tag t, std::size_t n) {
    if (Entry* e = next()) *e = Entry{t, {}, {}, n, Entry::Kind::Zeros};
    return *this;
}

std::size_t MessageBuilder::encoded_size() const {
    std::size_t total = count_ == 0 ? 4 : 8 * count_;
    for (std::size_t i = 0; i < count_; ++i) total += entries_[i].size();
    return total;
}

Expected<std::size_t, BuildError> MessageBuilder::write(std::span<std::byte> out) const {
    if (overflow_) return unexpected(BuildError::TooManyTags);
    // Sort indices by tag value (RFC 10049 §4: ascending as uint32); insertion sort, N <= 16.
    std::array<std::uint8_t, kCapacity> order{};
    for (std::size_t i = 0; i < count_; ++i) {
        std::size_t j = i;
        while (j > 0 && entries_[order[j - 1]].tag > entries_[i].tag) {
            order[j] = order[j - 1];
            --j;
        }
        order[j] = static_cast<std::uint8_t>(i);
    }
    std::uint64_t total = count_ == 0 ? 4 : 8 * count_;
    for (std::size_t i = 0; i < count_; ++i) {
        const Entry& e = entries_[order[i]];
        if (i > 0 && entries_[order[i - 1]].tag == e.tag) return unexpected(BuildError::DuplicateTag);
        if (e.size() % 4 != 0) return unexpected(BuildError::ValueNotAligned);
        total += e.size();
    }
    if (total > 0xffff'ffffu) return unexpected(BuildError::TooLarge);
    if (total > out.size()) return unexpected(BuildError::BufferTooSmall);

    store_le32(out, static_cast<std::uint32_t>(count_));
    const std::size_t header = count_ == 0 ? 4 : 8 * count_;
    std::size_t offset = 0;
    for (std::size_t i = 0; i < count_; ++i) {
        const Entry& e = entries_[order[i]];
        if (i > 0) store_le32(out.subspan(4 * i), static_cast<std::uint32_t>(offset));
        store_le32(out.subspan(4 * count_ + 4 * i), e.tag);
        auto dst = out.subspan(header + offset, e.size());
        switch (e.kind) {
        case Entry::Kind::Span: std::copy(e.value.begin(), e.value.end(), dst.begin()); break;
        case Entry::Kind::Inline: std::copy_n(e.inline_value.begin(), e.size(), dst.begin()); break;
        case Entry::Kind::Zeros: std::fill(dst.begin(), dst.end(), std::byte{0}); break;
        }
        offset += e.size();
    }
    return static_cast<std::size_t>(total);
}

Expected<std::size_t, BuildError> MessageBuilder::write_framed(std::span<std::byte> out) const {
    if (out.size() < kFrameHeaderSize) return unexpected(BuildError::BufferTooSmall);
    auto n = write(out.subspan(kFrameHeaderSize));
    if (!n) return n;
    std::copy(kFrameMagic.begin(), kFrameMagic.end(), out.begin());
    store_le32(out.subspan(8), static_cast<std::uint32_t>(*n));
    return *n + kFrameHeaderSize;
}

std::vector<std::byte> MessageBuilder::to_vector(bool framed) const {
    std::vector<std::byte> out(encoded_size() + (framed ? kFrameHeaderSize : 0));
    auto n = framed ? write_framed(out) : write(out);
    if (!n) return {};
    out.resize(*n);
    return out;
}

}  // namespace timepipe::roughtime
