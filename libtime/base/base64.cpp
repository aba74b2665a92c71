#include "libtime/base/base64.hpp"

#include <sodium/utils.h>

namespace timepipe {
namespace {

// sodium's API speaks unsigned char; std::byte and char have the same representation.
unsigned char* uc(std::byte* p) { return static_cast<unsigned char*>(static_cast<void*>(p)); }
const unsigned char* uc(const std::byte* p) {
    return static_cast<const unsigned char*>(static_cast<const void*>(p));
}

bool has_any(std::string_view s, std::string_view chars) {
    return s.find_first_of(chars) != std::string_view::npos;
}

}  // namespace

std::optional<std::vector<std::byte>> base64_decode(std::string_view text) {
    // RFC 4648 §3.2: padding optional; when present it completes the last quantum.
    std::size_t pad = 0;
    while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
    auto body = text.substr(0, text.size() - pad);
    if (pad > 0 && text.size() % 4 != 0) return std::nullopt;
    if (body.size() % 4 == 1) return std::nullopt;
    if (body.empty()) return std::vector<std::byte>{};
    bool standard = has_any(body, "+/");
    bool urlsafe = has_any(body, "-_");
    if (standard && urlsafe) return std::nullopt;
    int variant = urlsafe ? sodium_base64_VARIANT_URLSAFE_NO_PADDING
                          : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    std::vector<std::byte> out(body.size() / 4 * 3 + 3);
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(uc(out.data()), out.size(), body.data(), body.size(), nullptr, &len, &end,
                          variant) != 0 ||
        end != body.data() + body.size())
        return std::nullopt;
    out.resize(len);
    return out;
}

std::string base64_encode(std::span<const std::byte> bytes) {
    constexpr int variant = sodium_base64_VARIANT_ORIGINAL;
    std::string out(sodium_base64_encoded_len(bytes.size(), variant), '\0');  // with its NUL
    sodium_bin2base64(out.data(), out.size(), uc(bytes.data()), bytes.size(), variant);
    out.pop_back();
    return out;
}

std::optional<std::vector<std::byte>> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) return std::nullopt;
    if (text.empty()) return std::vector<std::byte>{};
    std::vector<std::byte> out(text.size() / 2);
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_hex2bin(uc(out.data()), out.size(), text.data(), text.size(), nullptr, &len, &end) != 0 ||
        end != text.data() + text.size() || len != out.size())
        return std::nullopt;
    return out;
}

std::string hex_encode(std::span<const std::byte> bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), uc(bytes.data()), bytes.size());
    out.pop_back();
    return out;
}

}  // namespace timepipe
