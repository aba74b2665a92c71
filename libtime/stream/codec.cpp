#include "libtime/stream/codec.hpp"

#include <cbor.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <unordered_set>
#include <utility>

namespace timepipe {
namespace {

// ---- shared checks ---------------------------------------------------------------------------

bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) { ++i; continue; }
        std::size_t len;
        std::uint32_t cp;
        if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; }
        else return false;
        if (s.size() - i < len) return false;
        for (std::size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629).
        static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

std::string in_quotes(std::string_view key) {
    std::string q = "\"";
    q += key;
    q += '"';
    return q;
}

// The "v" and "type" rules; the rest of a record is checked as it is read or by check_tree.
Result<void> check_header(const Record& r) {
    if (!r.is_object()) return fail("record is not a map");
    auto v = r.find("v");
    if (v == r.end()) return fail("missing \"v\"");
    if (!v->is_number_integer()) return fail("\"v\" is not an integer");
    // nlohmann keeps non-negative integers read from CBOR or JSON as unsigned, those built in
    // code as signed: compare both exactly.
    if (v->is_number_unsigned()) {
        auto n = v->get<std::uint64_t>();
        if (n > 1) return fail("unsupported stream version " + std::to_string(n));
        if (n < 1) return fail("bad stream version 0");
    } else {
        auto n = v->get<std::int64_t>();
        if (n > 1) return fail("unsupported stream version " + std::to_string(n));
        if (n < 1) return fail("bad stream version " + std::to_string(n));
    }
    auto t = r.find("type");
    if (t == r.end()) return fail("missing \"type\"");
    if (!t->is_string()) return fail("\"type\" is not a text string");
    if (t->get_ref<const std::string&>().empty()) return fail("empty \"type\"");
    return {};
}

// Why `value` (at nesting `depth`, 1 = the record itself) breaks the record rules, or "".
std::string check_tree(const Record& value, int depth) {
    using T = Record::value_t;
    switch (value.type()) {
    case T::null: case T::boolean: case T::number_integer: case T::number_unsigned:
    case T::binary:
        return {};
    case T::number_float:
        return std::isfinite(value.get<double>()) ? std::string{} : "non-finite number";
    case T::string:
        return valid_utf8(value.get_ref<const std::string&>()) ? std::string{} : "invalid UTF-8";
    case T::array:
    case T::object:
        if (depth > kMaxNesting) return "nesting deeper than " + std::to_string(kMaxNesting) + " levels";
        if (value.is_array()) {
            for (const auto& e : value)
                if (auto why = check_tree(e, depth + 1); !why.empty()) return why;
        } else {
            for (const auto& [k, e] : value.items()) {
                if (!valid_utf8(k)) return "invalid UTF-8 in a key";
                if (auto why = check_tree(e, depth + 1); !why.empty()) return why;
            }
        }
        return {};
    case T::discarded:
        break;
    }
    return "not a CBOR value";
}

// ---- encoder ---------------------------------------------------------------------------------

// Appends what a cbor_encode_* call writes; heads are at most 9 bytes.
template <class F>
void put(std::vector<std::byte>& out, F&& encode) {
    unsigned char head[16];
    std::size_t n = encode(head, sizeof head);
    auto bytes = std::as_bytes(std::span(head, n));
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void encode_value(const Record& value, std::vector<std::byte>& out) {
    using T = Record::value_t;
    switch (value.type()) {
    case T::null:
        put(out, [](unsigned char* b, std::size_t n) { return cbor_encode_null(b, n); });
        return;
    case T::boolean:
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_bool(value.get<bool>(), b, n); });
        return;
    case T::number_unsigned:
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_uint(value.get<std::uint64_t>(), b, n); });
        return;
    case T::number_integer: {
        auto i = value.get<std::int64_t>();
        // CBOR negative integers carry -1 - i; that never overflows for any int64.
        if (i >= 0)
            put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_uint(static_cast<std::uint64_t>(i), b, n); });
        else
            put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_negint(static_cast<std::uint64_t>(-(i + 1)), b, n); });
        return;
    }
    case T::number_float:
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_double(value.get<double>(), b, n); });
        return;
    case T::string: {
        const auto& s = value.get_ref<const std::string&>();
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_string_start(s.size(), b, n); });
        auto bytes = std::as_bytes(std::span(s.data(), s.size()));
        out.insert(out.end(), bytes.begin(), bytes.end());
        return;
    }
    case T::binary: {
        const auto& v = value.get_binary();
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_bytestring_start(v.size(), b, n); });
        auto bytes = std::as_bytes(std::span(v.data(), v.size()));
        out.insert(out.end(), bytes.begin(), bytes.end());
        return;
    }
    case T::array:
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_array_start(value.size(), b, n); });
        for (const auto& e : value) encode_value(e, out);
        return;
    case T::object:
        put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_map_start(value.size(), b, n); });
        for (const auto& item : value.items()) {
            const std::string& k = item.key();
            const Record& e = item.value();
            put(out, [&](unsigned char* b, std::size_t n) { return cbor_encode_string_start(k.size(), b, n); });
            auto bytes = std::as_bytes(std::span(k.data(), k.size()));
            out.insert(out.end(), bytes.begin(), bytes.end());
            encode_value(e, out);
        }
        return;
    case T::discarded:
        return;  // check_record refused it already
    }
}

// ---- decoder ---------------------------------------------------------------------------------

std::string hex_byte(unsigned b) {
    char s[8];
    std::snprintf(s, sizeof s, "0x%02x", b & 0xffu);
    return s;
}

// Why libcbor refused an initial byte (it reports only "error").
std::string malformed_why(unsigned b) {
    unsigned major = b >> 5, info = b & 0x1f;
    if (info >= 28 && info <= 30) return "reserved additional information in initial byte " + hex_byte(b);
    if (info == 31) return "indefinite length in initial byte " + hex_byte(b);
    if (major == 6) return "unsupported tag (initial byte " + hex_byte(b) + ")";
    if (major == 7) return "unsupported simple value (initial byte " + hex_byte(b) + ")";
    return "malformed initial byte " + hex_byte(b);
}

}  // namespace

Result<void> check_record(const Record& record) {
    if (auto ok = check_header(record); !ok) return ok;
    for (const auto& [k, e] : record.items()) {
        if (!valid_utf8(k)) return fail("invalid UTF-8 in a key");
        if (auto why = check_tree(e, 2); !why.empty()) return fail(in_quotes(k) + ": " + why);
    }
    return {};
}

std::string_view record_type(const Record& record) {
    if (!record.is_object()) return {};
    auto t = record.find("type");
    if (t == record.end() || !t->is_string()) return {};
    return t->get_ref<const std::string&>();
}

Result<void> encode_record(const Record& record, std::vector<std::byte>& out) {
    if (auto ok = check_record(record); !ok) return ok;
    encode_value(record, out);
    return {};
}

Result<std::vector<std::byte>> encode_record(const Record& record) {
    std::vector<std::byte> out;
    if (auto ok = encode_record(record, out); !ok) return fail(ok.error().what, ok.error().exit_code);
    return out;
}

// The decoder drives libcbor's cbor_stream_decode one header (or definite string) at a time and
// builds the record itself: that lets it bound nesting and size before allocating anything,
// keep 64-bit integers exact, and name the byte offset of every fault.
struct StreamDecoder::Impl {
    enum class Kind { array, map, bytes, text };
    struct Frame {
        Kind kind;
        bool indefinite;
        std::uint64_t remaining;  // items (arrays) or pairs (maps) still to come, if definite
        std::uint64_t offset;     // of the container's initial byte
        Record value;
        std::string key;          // maps: the key awaiting its value
        bool want_key = true;
        // Maps: keys seen. ordered_json looks keys up linearly; this keeps a hostile map of
        // many keys from costing quadratic time.
        std::unordered_set<std::string> keys{};
    };

    std::vector<std::byte> buf;
    std::size_t pos = 0;           // next unread byte in buf
    std::uint64_t base = 0;        // absolute offset of buf[0]
    bool eof = false;
    std::optional<Error> failed;

    std::vector<Frame> stack;
    int depth = 0;                 // arrays and maps on the stack
    std::uint64_t record_start = 0;
    std::uint64_t item = 0;        // offset of the item being decoded
    std::optional<Record> done;    // a record completed by the last event
    std::string why;               // set by a callback that refuses the input
    std::uint64_t why_at = 0;

    std::uint64_t here() const { return base + pos; }

    void refuse(std::string reason, std::uint64_t at) {
        if (why.empty()) { why = std::move(reason); why_at = at; }
    }

    // What the item starting now may be, given where it sits.
    bool begin(Kind k, bool definite_chunk) {
        if (!stack.empty()) {
            const Frame& top = stack.back();
            if (top.kind == Kind::bytes || top.kind == Kind::text) {
                if (!(definite_chunk && k == top.kind)) {
                    refuse("bad chunk in indefinite-length string", item);
                    return false;
                }
            } else if (top.kind == Kind::map && top.want_key && k != Kind::text) {
                refuse("map key is not a text string", item);
                return false;
            }
        } else if (k != Kind::map) {
            refuse("record is not a map", item);
            return false;
        }
        return true;
    }
    bool begin_scalar() {
        if (stack.empty()) { refuse("record is not a map", item); return false; }
        const Frame& top = stack.back();
        if (top.kind == Kind::bytes || top.kind == Kind::text) {
            refuse("bad chunk in indefinite-length string", item);
            return false;
        }
        if (top.kind == Kind::map && top.want_key) {
            refuse("map key is not a text string", item);
            return false;
        }
        return true;
    }

    // A complete item `v` that started at `at`: attach it to its container.
    void complete(Record v, std::uint64_t at) {
        for (;;) {
            if (stack.empty()) {
                if (auto ok = check_header(v); !ok) { refuse(ok.error().what, record_start); return; }
                done = std::move(v);
                return;
            }
            Frame& top = stack.back();
            if (top.kind == Kind::map && top.want_key) {
                auto& k = v.get_ref<std::string&>();
                if (!top.keys.insert(k).second) { refuse("duplicate key " + in_quotes(k), at); return; }
                top.key = std::move(k);
                top.want_key = false;
                return;
            }
            if (top.kind == Kind::map) {
                // Append without ordered_map's linear search; `keys` proved the key new.
                auto& pairs = top.value.get_ref<Record::object_t&>();
                pairs.Container::emplace_back(std::move(top.key), std::move(v));
                top.key.clear();
                top.want_key = true;
            } else {
                top.value.push_back(std::move(v));
            }
            if (top.indefinite || --top.remaining > 0) return;
            v = std::move(top.value);
            at = top.offset;
            stack.pop_back();
            --depth;
        }
    }

    void open(Kind k, bool indefinite, std::uint64_t count) {
        if (!begin(k, false)) return;
        if (k == Kind::array || k == Kind::map) {
            if (depth + 1 > kMaxNesting) {
                refuse("nesting deeper than " + std::to_string(kMaxNesting) + " levels", item);
                return;
            }
            if (stack.empty()) record_start = item;
            Record empty = k == Kind::map ? Record::object() : Record::array();
            if (!indefinite && count == 0) { complete(std::move(empty), item); return; }
            stack.push_back(Frame{k, indefinite, count, item, std::move(empty), {}, true});
            ++depth;
        } else {
            if (!stack.empty() && (stack.back().kind == Kind::bytes || stack.back().kind == Kind::text)) {
                refuse("bad chunk in indefinite-length string", item);
                return;
            }
            Record empty = k == Kind::text ? Record(std::string{}) : Record::binary({});
            stack.push_back(Frame{k, true, 0, item, std::move(empty), {}, true});
        }
    }

    void string(Kind k, cbor_data data, std::size_t n) {
        if (!begin(k, true)) return;
        auto chars = std::string_view(static_cast<const char*>(static_cast<const void*>(data)), n);
        // RFC 8949 3.2.3: each chunk of a text string is itself valid UTF-8.
        if (k == Kind::text && !valid_utf8(chars)) { refuse("invalid UTF-8 in text string", item); return; }
        if (!stack.empty() && stack.back().kind == k) {  // a chunk of an indefinite-length string
            auto& v = stack.back().value;
            if (k == Kind::text) v.get_ref<std::string&>().append(chars);
            else v.get_binary().insert(v.get_binary().end(), data, data + n);
            return;
        }
        if (k == Kind::text) complete(Record(std::string(chars)), item);
        else complete(Record::binary(std::vector<std::uint8_t>(data, data + n)), item);
    }

    void scalar(Record v) {
        if (begin_scalar()) complete(std::move(v), item);
    }
    void negint(std::uint64_t n) {
        if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            refuse("integer below -2^63", item);
            return;
        }
        scalar(Record(-1 - static_cast<std::int64_t>(n)));
    }
    void real(double d) {
        if (!std::isfinite(d)) { refuse("non-finite float", item); return; }
        scalar(Record(d));
    }
    void brk() {
        if (stack.empty() || !stack.back().indefinite) { refuse("unexpected break", item); return; }
        Frame& top = stack.back();
        if (top.kind == Kind::map && !top.want_key) { refuse("map ends after a key", item); return; }
        Record v = std::move(top.value);
        auto at = top.offset;
        if (top.kind == Kind::array || top.kind == Kind::map) --depth;
        stack.pop_back();
        complete(std::move(v), at);
    }

    static Impl& of(void* ctx) { return *static_cast<Impl*>(ctx); }
    static const cbor_callbacks& callbacks();

    Result<std::optional<Record>> next();
};

// Built on first use: no static initialisation order to worry about.
const cbor_callbacks& StreamDecoder::Impl::callbacks() {
    static const cbor_callbacks table = [] {
    cbor_callbacks c{};
    c.uint8 = [](void* x, std::uint8_t v) { of(x).scalar(Record(std::uint64_t{v})); };
    c.uint16 = [](void* x, std::uint16_t v) { of(x).scalar(Record(std::uint64_t{v})); };
    c.uint32 = [](void* x, std::uint32_t v) { of(x).scalar(Record(std::uint64_t{v})); };
    c.uint64 = [](void* x, std::uint64_t v) { of(x).scalar(Record(v)); };
    c.negint8 = [](void* x, std::uint8_t v) { of(x).negint(v); };
    c.negint16 = [](void* x, std::uint16_t v) { of(x).negint(v); };
    c.negint32 = [](void* x, std::uint32_t v) { of(x).negint(v); };
    c.negint64 = [](void* x, std::uint64_t v) { of(x).negint(v); };
    // libcbor's naming: byte_string/string carry a definite string (or chunk), *_start opens an
    // indefinite one.
    c.byte_string = [](void* x, cbor_data d, std::size_t n) { of(x).string(Kind::bytes, d, n); };
    c.byte_string_start = [](void* x) { of(x).open(Kind::bytes, true, 0); };
    c.string = [](void* x, cbor_data d, std::size_t n) { of(x).string(Kind::text, d, n); };
    c.string_start = [](void* x) { of(x).open(Kind::text, true, 0); };
    c.array_start = [](void* x, std::size_t n) { of(x).open(Kind::array, false, n); };
    c.indef_array_start = [](void* x) { of(x).open(Kind::array, true, 0); };
    c.map_start = [](void* x, std::size_t n) { of(x).open(Kind::map, false, n); };
    c.indef_map_start = [](void* x) { of(x).open(Kind::map, true, 0); };
    c.tag = [](void* x, std::uint64_t t) { of(x).refuse("unsupported tag " + std::to_string(t), of(x).item); };
    c.float2 = [](void* x, float v) { of(x).real(v); };
    c.float4 = [](void* x, float v) { of(x).real(v); };
    c.float8 = [](void* x, double v) { of(x).real(v); };
    c.undefined = [](void* x) { of(x).refuse("undefined is not supported", of(x).item); };
    c.null = [](void* x) { of(x).scalar(Record(nullptr)); };
    c.boolean = [](void* x, bool v) { of(x).scalar(Record(v)); };
    c.indef_break = [](void* x) { of(x).brk(); };
    return c;
    }();
    return table;
}

Result<std::optional<Record>> StreamDecoder::Impl::next() {
    auto fail_at = [this](std::uint64_t at, const std::string& reason) -> Result<std::optional<Record>> {
        failed = Error{"byte " + std::to_string(at) + ": " + reason, EX_DATAERR};
        return Unexpected<Error>{*failed};
    };
    if (failed) return Unexpected<Error>{*failed};
    for (;;) {
        bool in_record = !stack.empty();
        if (pos == buf.size()) {
            if (eof && in_record) return fail_at(record_start, "truncated record");
            return std::optional<Record>{};
        }
        item = here();
        if (!in_record) record_start = item;
        auto* data = static_cast<cbor_data>(static_cast<const void*>(buf.data() + pos));
        auto res = cbor_stream_decode(data, buf.size() - pos, &callbacks(), this);
        if (res.status == CBOR_DECODER_ERROR)
            return fail_at(item, malformed_why(std::to_integer<unsigned>(buf[pos])));
        if (res.status == CBOR_DECODER_NEDATA) {
            if (base + buf.size() - record_start > kMaxRecordBytes)
                return fail_at(record_start, "record longer than " + std::to_string(kMaxRecordBytes) + " bytes");
            if (eof) return fail_at(record_start, "truncated record");
            return std::optional<Record>{};
        }
        if (!why.empty()) return fail_at(why_at, why);
        pos += res.read;
        if (here() - record_start > kMaxRecordBytes)
            return fail_at(record_start, "record longer than " + std::to_string(kMaxRecordBytes) + " bytes");
        if (done) {
            // Drop consumed input so a long stream uses constant memory.
            if (pos == buf.size() || pos > 65536) {
                buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(pos));
                base += pos;
                pos = 0;
            }
            std::optional<Record> r = std::move(done);
            done.reset();
            return r;
        }
    }
}

StreamDecoder::StreamDecoder() : impl_(std::make_unique<Impl>()) {}
StreamDecoder::~StreamDecoder() = default;
StreamDecoder::StreamDecoder(StreamDecoder&&) noexcept = default;
StreamDecoder& StreamDecoder::operator=(StreamDecoder&&) noexcept = default;

void StreamDecoder::feed(std::span<const std::byte> chunk) {
    impl_->buf.insert(impl_->buf.end(), chunk.begin(), chunk.end());
}

void StreamDecoder::finish() { impl_->eof = true; }

Result<std::optional<Record>> StreamDecoder::next() { return impl_->next(); }

std::uint64_t StreamDecoder::offset() const { return impl_->here(); }

Result<std::vector<Record>> decode_records(std::span<const std::byte> bytes) {
    StreamDecoder dec;
    dec.feed(bytes);
    dec.finish();
    std::vector<Record> out;
    for (;;) {
        auto r = dec.next();
        if (!r) return Unexpected<Error>{r.error()};
        if (!*r) return out;
        out.push_back(std::move(**r));
    }
}

}  // namespace timepipe
