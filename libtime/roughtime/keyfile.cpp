#include "libtime/roughtime/keyfile.hpp"

#include <algorithm>
#include <array>

#include "libtime/base/base64.hpp"

namespace timepipe::roughtime {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

constexpr char kHexDigits[] = "0123456789abcdef";

}  // namespace

Result<Seed> parse_key_file(std::string_view text) {
    if (text.size() > kMaxKeyFileSize) return fail("longer than " + std::to_string(kMaxKeyFileSize) + " octets");
    Seed seed;
    bool found = false;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        const std::size_t end = text.find('\n');
        const std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        const std::string where = "line " + std::to_string(line_no) + ": ";
        if (line.empty() || line.front() == '#') continue;
        if (line.substr(0, kSeedKeyword.size()) != kSeedKeyword)
            return fail(where + "expected \"" + std::string(kSeedKeyword) + " HEX\" or a # comment");
        if (found) return fail(where + "a second " + std::string(kSeedKeyword) + " line");
        std::string_view rest = line.substr(kSeedKeyword.size());
        if (rest.empty() || rest.front() != ' ') return fail(where + "expected one space after " + std::string(kSeedKeyword));
        rest.remove_prefix(1);
        if (rest.size() != 2 * Seed::size())
            return fail(where + "the seed is not " + std::to_string(2 * Seed::size()) + " hex digits");
        auto out = seed.span();
        for (std::size_t i = 0; i < Seed::size(); ++i) {
            const int hi = hex_value(rest[2 * i]);
            const int lo = hex_value(rest[2 * i + 1]);
            if (hi < 0 || lo < 0) return fail(where + "the seed is not hex");
            out[i] = static_cast<std::byte>(hi * 16 + lo);
        }
        found = true;
    }
    if (!found) return fail("no " + std::string(kSeedKeyword) + " line");
    return seed;
}

std::string format_key_file(const Seed& seed) {
    const crypto::Ed25519KeyPair kp = crypto::ed25519_from_seed(seed.span());
    std::string out;
    out.reserve(512);  // one allocation: no stray copy of the seed is left in freed memory
    out += "# timepipe roughtime-serve long-term key (Ed25519). Secret: keep it mode 0600.\n";
    out += "# public key (base64): " + public_key_base64(kp.public_key) + "\n";
    out += "# public key (hex): " + public_key_hex(kp.public_key) + "\n";
    out += kSeedKeyword;
    out += ' ';
    for (std::byte b : seed.span()) {
        out += kHexDigits[std::to_integer<unsigned>(b) >> 4];
        out += kHexDigits[std::to_integer<unsigned>(b) & 0xf];
    }
    out += '\n';
    return out;
}

std::string public_key_base64(const crypto::PublicKey& key) { return base64_encode(key); }

Result<crypto::PublicKey> parse_public_key(std::string_view text) {
    std::optional<std::vector<std::byte>> bytes;
    if (text.size() == 2 * crypto::kEd25519PublicKeySize) bytes = hex_decode(text);
    if (!bytes) bytes = base64_decode(text);
    if (!bytes) return fail("not base64 or hex", EX_USAGE);
    if (bytes->size() != crypto::kEd25519PublicKeySize)
        return fail("not 32 bytes but " + std::to_string(bytes->size()), EX_USAGE);
    crypto::PublicKey key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

std::string public_key_hex(const crypto::PublicKey& key) {
    std::string out;
    for (std::byte b : key) {
        out += kHexDigits[std::to_integer<unsigned>(b) >> 4];
        out += kHexDigits[std::to_integer<unsigned>(b) & 0xf];
    }
    return out;
}

}  // namespace timepipe::roughtime
