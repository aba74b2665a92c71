// libtime/roughtime_keyfile (the key file's text: RFC 8032 test 1 seed, round trips, every
// rejection, errors that never quote the secret) and libtime/sys_keyfile (0600 writes, no
// overwrite without replace, group/other-readable files refused, size and type limits).
#include "libtime/base/base64.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/sys/keyfile.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {

// RFC 8032 §7.1 TEST 1.
constexpr const char* kSeedHex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr const char* kPublicHex = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* kPublicB64 = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

Seed seed_of(const std::vector<std::byte>& bytes) {
    return Seed(std::span<const std::byte, 32>(bytes.data(), 32));
}

bool same(const Seed& a, const Seed& b) { return std::ranges::equal(a.span(), b.span()); }

std::string key_file_error(std::string_view text) {
    auto r = parse_key_file(text);
    EXPECT_FALSE(r.has_value()) << text;
    if (r) return "";
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);
    return r.error().what;
}

std::string temp_path(const char* name) {
    std::string path = ::testing::TempDir() + "roughtime_keyfile_test." + std::to_string(::getpid()) + "." + name;
    ::unlink(path.c_str());
    return path;
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
}

std::span<const std::byte> bytes_of(const std::string& s) { return std::as_bytes(std::span(s)); }

}  // namespace

TEST(KeyFile, FormatsRfc8032Test1WithItsPublicKey) {
    const Seed seed = seed_of(test::hex(kSeedHex));
    const std::string text = format_key_file(seed);
    EXPECT_NE(text.find(std::string("\ned25519-seed ") + kSeedHex + "\n"), std::string::npos) << text;
    EXPECT_NE(text.find(std::string("# public key (hex): ") + kPublicHex + "\n"), std::string::npos) << text;
    EXPECT_NE(text.find(std::string("# public key (base64): ") + kPublicB64 + "\n"), std::string::npos) << text;
    EXPECT_EQ(text.front(), '#');
}

TEST(KeyFile, PublicKeyEncodings) {
    const auto kp = crypto::ed25519_from_seed(seed_of(test::hex(kSeedHex)).span());
    EXPECT_EQ(public_key_hex(kp.public_key), kPublicHex);
    EXPECT_EQ(public_key_base64(kp.public_key), kPublicB64);
}

TEST(KeyFile, ParsesMinimalCommentedAndUppercase) {
    const Seed want = seed_of(test::hex(kSeedHex));
    auto a = parse_key_file(std::string("ed25519-seed ") + kSeedHex);  // no final newline
    ASSERT_TRUE(a.has_value()) << a.error().what;
    EXPECT_TRUE(same(*a, want));
    std::string upper = kSeedHex;
    std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return static_cast<char>(std::toupper(c)); });
    auto b = parse_key_file("# a comment\n\n#another\ned25519-seed " + upper + "\n\n# trailing\n");
    ASSERT_TRUE(b.has_value()) << b.error().what;
    EXPECT_TRUE(same(*b, want));
}

TEST(KeyFile, RandomSeedsRoundTrip) {
    std::mt19937_64 rng(test::test_seed("roughtime_keyfile_test"));
    for (int i = 0; i < 200; ++i) {
        std::vector<std::byte> raw(32);
        for (auto& b : raw) b = static_cast<std::byte>(rng());
        const Seed seed = seed_of(raw);
        auto back = parse_key_file(format_key_file(seed));
        ASSERT_TRUE(back.has_value()) << back.error().what;
        EXPECT_TRUE(same(*back, seed));
    }
}

TEST(KeyFile, RejectionsNameTheLineAndNeverTheSecret) {
    const std::string seed = kSeedHex;
    EXPECT_EQ(key_file_error(""), "no ed25519-seed line");
    EXPECT_EQ(key_file_error("# only a comment\n"), "no ed25519-seed line");
    EXPECT_EQ(key_file_error("ed25519-seed " + seed + "\ned25519-seed " + seed + "\n"),
              "line 2: a second ed25519-seed line");
    EXPECT_EQ(key_file_error("# c\ned25519-seed " + seed.substr(2) + "\n"), "line 2: the seed is not 64 hex digits");
    EXPECT_EQ(key_file_error("ed25519-seed " + seed + "00\n"), "line 1: the seed is not 64 hex digits");
    EXPECT_EQ(key_file_error("ed25519-seed " + seed + "\r\n"), "line 1: the seed is not 64 hex digits");  // LF only
    EXPECT_EQ(key_file_error("ed25519-seed " + seed.substr(1) + "g\n"), "line 1: the seed is not hex");
    EXPECT_EQ(key_file_error("ed25519-seed  " + seed.substr(1) + "\n"), "line 1: the seed is not hex");
    EXPECT_EQ(key_file_error("ed25519-seed\t" + seed + "\n"), "line 1: expected one space after ed25519-seed");
    EXPECT_EQ(key_file_error(" ed25519-seed " + seed + "\n"), "line 1: expected \"ed25519-seed HEX\" or a # comment");
    EXPECT_EQ(key_file_error("x25519-seed " + seed + "\n"), "line 1: expected \"ed25519-seed HEX\" or a # comment");
    EXPECT_EQ(key_file_error(std::string(kMaxKeyFileSize + 1, '#')), "longer than 4096 octets");
    // Nothing of the seed leaks into a message, whatever is wrong with the line.
    for (const std::string& bad : {"ed25519-seed " + seed + "zz", "ed25519-seed " + seed.substr(0, 60) + "xyzw",
                                   "ed25519-seed\t" + seed, "seed " + seed})
        EXPECT_EQ(key_file_error(bad).find(seed.substr(0, 8)), std::string::npos) << bad;
}

TEST(SysKeyFile, WritesOwnerOnlyAndNeverOverwritesUnlessAsked) {
    const std::string path = temp_path("write");
    const std::string text = format_key_file(seed_of(test::hex(kSeedHex)));
    const mode_t old_umask = ::umask(0);  // the mode must not depend on the caller's umask
    auto ok = write_private_file(path.c_str(), bytes_of(text), false);
    ::umask(old_umask);
    ASSERT_TRUE(ok.has_value()) << ok.error().what;
    EXPECT_EQ(mode_of(path), 0600u);
    auto again = write_private_file(path.c_str(), bytes_of("other"), false);
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().exit_code, EX_CANTCREAT);
    EXPECT_EQ(again.error().what, "exists (--force replaces it)");
    auto read = read_private_file(path.c_str(), kMaxKeyFileSize);
    ASSERT_TRUE(read.has_value()) << read.error().what;
    EXPECT_EQ(*read, text);  // untouched
    auto replaced = write_private_file(path.c_str(), bytes_of("other"), true);
    ASSERT_TRUE(replaced.has_value()) << replaced.error().what;
    EXPECT_EQ(mode_of(path), 0600u);
    EXPECT_EQ(*read_private_file(path.c_str(), kMaxKeyFileSize), "other");
    ::unlink(path.c_str());
}

TEST(SysKeyFile, ReplacingASymlinkReplacesTheLinkNotItsTarget) {
    const std::string target = temp_path("target");
    const std::string link = temp_path("link");
    ASSERT_TRUE(write_private_file(target.c_str(), bytes_of("target"), false).has_value());
    ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    auto no = write_private_file(link.c_str(), bytes_of("new"), false);
    ASSERT_FALSE(no.has_value());
    ASSERT_TRUE(write_private_file(link.c_str(), bytes_of("new"), true).has_value());
    EXPECT_EQ(*read_private_file(target.c_str(), 100), "target");
    EXPECT_EQ(*read_private_file(link.c_str(), 100), "new");
    ::unlink(target.c_str());
    ::unlink(link.c_str());
}

TEST(SysKeyFile, RefusesFilesGroupOrOthersMayRead) {
    const std::string path = temp_path("modes");
    ASSERT_TRUE(write_private_file(path.c_str(), bytes_of("x"), false).has_value());
    for (mode_t m : {0644u, 0640u, 0604u, 0660u, 0601u, 0610u}) {
        ASSERT_EQ(::chmod(path.c_str(), m), 0);
        auto r = read_private_file(path.c_str(), 100);
        ASSERT_FALSE(r.has_value()) << std::oct << m;
        EXPECT_EQ(r.error().exit_code, EX_NOPERM);
        char want[64];
        std::snprintf(want, sizeof want, "mode %04o lets group or others read it (chmod 600 it)", static_cast<unsigned>(m));
        EXPECT_EQ(r.error().what, want);
    }
    for (mode_t m : {0600u, 0400u}) {
        ASSERT_EQ(::chmod(path.c_str(), m), 0);
        EXPECT_TRUE(read_private_file(path.c_str(), 100).has_value()) << std::oct << m;
    }
    ::unlink(path.c_str());
}

TEST(SysKeyFile, MissingTooLongAndNotRegular) {
    auto missing = read_private_file("/nonexistent/timepipe-key", 100);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(missing.error().what, "No such file or directory");
    const std::string path = temp_path("long");
    ASSERT_TRUE(write_private_file(path.c_str(), bytes_of(std::string(101, 'a')), false).has_value());
    auto longer = read_private_file(path.c_str(), 100);
    ASSERT_FALSE(longer.has_value());
    EXPECT_EQ(longer.error().exit_code, EX_DATAERR);
    EXPECT_TRUE(read_private_file(path.c_str(), 101).has_value());
    ::unlink(path.c_str());
    const std::string dir = temp_path("dir");
    ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
    auto d = read_private_file(dir.c_str(), 100);
    ASSERT_FALSE(d.has_value());
    EXPECT_EQ(d.error().what, "not a regular file");
    ::rmdir(dir.c_str());
    auto nowhere = write_private_file("/nonexistent/dir/key", bytes_of("x"), false);
    ASSERT_FALSE(nowhere.has_value());
    EXPECT_EQ(nowhere.error().exit_code, EX_CANTCREAT);
}

TEST(RoughtimeKeyfile, PublicKeys) {
    const std::string b64 = "AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=";
    auto k = parse_public_key(b64);
    ASSERT_TRUE(k);
    EXPECT_EQ(base64_encode(*k), b64);
    EXPECT_EQ(*parse_public_key("AW5uAoTSTDfG5NfY1bTh08GUnOqlRb-HVhbJ3ODJvsE"), *k);  // URL-safe, no padding
    auto h = parse_public_key("016e6e0284d24c37c6e4d7d8d5b4e1d3c1949ceaa545bf875616c9dce0c9bec1");
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, *k);
    EXPECT_EQ(parse_public_key("not a key!").error().what, "not base64 or hex");
    EXPECT_EQ(parse_public_key("AAAA").error().what, "not 32 bytes but 3");
    EXPECT_EQ(parse_public_key("AAAA").error().exit_code, EX_USAGE);
}
