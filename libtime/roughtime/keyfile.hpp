// The Roughtime server's long-term key file, pure: text in, seed out, and back. The file holds
// the 32-octet Ed25519 seed (RFC 8032 §5.1.5) as hex on one keyword line; comments name the
// public key so an operator can publish it without the server:
//
//   # timepipe roughtime-serve long-term key (Ed25519). Secret: keep it mode 0600.
//   # public key (base64): 11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
//   # public key (hex): d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a
//   ed25519-seed 9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
//
// (That is RFC 8032 §7.1 TEST 1: never serve with it.) Rules (parse_key_file): lines end with
// LF; empty lines and lines starting with '#' are ignored; exactly one "ed25519-seed" line, one
// space, 64 hex digits (either case), nothing after. Errors name the line and never quote it (it may hold the secret).
// Reading the file (mode checks) is libtime/sys/keyfile.hpp.
#pragma once

#include <string>
#include <string_view>

#include "libtime/base/crypto.hpp"
#include "libtime/base/error.hpp"

namespace timepipe::roughtime {

inline constexpr std::string_view kSeedKeyword = "ed25519-seed";
inline constexpr std::size_t kMaxKeyFileSize = 4096;

using Seed = crypto::SecretBytes<crypto::kEd25519SeedSize>;

// EX_DATAERR with "line N: reason" (or "no ed25519-seed line").
Result<Seed> parse_key_file(std::string_view text);

// The file's text for `seed` (its public key in the comments). The caller wipes the string
// (crypto::secure_zero) once it is written.
std::string format_key_file(const Seed& seed);

// The public key as it is published: standard base64 (RFC 4648 §4) and lowercase hex.
std::string public_key_base64(const crypto::PublicKey& key);

// An Ed25519 public key as 44 characters of base64 (either alphabet, padding optional) or 64
// hex digits. Errors are EX_USAGE: "not base64 or hex", "not 32 bytes".
Result<crypto::PublicKey> parse_public_key(std::string_view text);
std::string public_key_hex(const crypto::PublicKey& key);

}  // namespace timepipe::roughtime
