// Text encodings of binary values: base64 (RFC 4648 §4 standard and §5 URL-safe alphabets) and
// hex. Keys, server lists and malfeasance reports use them; they are no protocol's own.
//
//   auto key = base64_decode("AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=");   // 32 bytes
//   std::string text = base64_encode(*key);                                     // same text back
//   auto raw = hex_decode("00ff7fa0");
//
// libsodium underneath (constant-time), no allocation beyond the result.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace timepipe {

// Decodes either alphabet (not both mixed), with or without '=' padding. Whitespace and
// non-canonical trailing bits are errors. nullopt if `text` is not base64.
std::optional<std::vector<std::byte>> base64_decode(std::string_view text);
// Standard alphabet with padding (the form RFC 10049 §8.3/§8.4.1 use).
std::string base64_encode(std::span<const std::byte> bytes);
// Even number of hex digits, either case, nothing else. nullopt otherwise.
std::optional<std::vector<std::byte>> hex_decode(std::string_view text);
// Lower-case hex, two digits per byte (constant-time: keys are written this way).
std::string hex_encode(std::span<const std::byte> bytes);

}  // namespace timepipe
