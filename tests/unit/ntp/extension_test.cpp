// RFC 7822 extension fields: every length rule, good and bad, the MAC disambiguation, the NTS
// relaxation (RFC 8915 §5.7), padding on write, and a randomized write/split round trip.
#include "libtime/ntp/extension.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::test_seed;

using Bytes = std::vector<std::byte>;

// A field header with `length` (whole field) and a recognisable filler body.
void add_field(Bytes& out, std::uint16_t type, std::size_t length, std::size_t fill = SIZE_MAX) {
    out.push_back(std::byte(type >> 8));
    out.push_back(std::byte(type & 0xff));
    out.push_back(std::byte(length >> 8));
    out.push_back(std::byte(length & 0xff));
    const std::size_t body = (fill == SIZE_MAX ? length : fill) - 4;
    for (std::size_t i = 0; i < body; ++i) out.push_back(std::byte(0xA0 + i % 16));
}

void add_raw(Bytes& out, std::size_t n, std::uint8_t v = 0x5C) { out.insert(out.end(), n, std::byte{v}); }

Expected<SplitRegion, ExtensionError> split(const Bytes& b, ExtensionRules r = ExtensionRules::Rfc7822) {
    return split_extensions(b, r);
}

TEST(NtpExtension, EmptyRegion) {
    auto s = split({});
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->fields.empty());
    EXPECT_TRUE(s->mac.empty());
}

TEST(NtpExtension, SingleFieldWithoutMacNeeds28Octets) {
    Bytes ok;
    add_field(ok, 0x0104, 28);
    auto s = split(ok);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->fields.count(), 1u);
    EXPECT_EQ((*s->fields.begin()).type, 0x0104);
    EXPECT_EQ((*s->fields.begin()).value.size(), 24u);
    EXPECT_TRUE(s->mac.empty());

    Bytes f16;  // 16 octets alone: a bad MAC length, never a field (RFC 7822)
    add_field(f16, 0x0104, 16);
    ASSERT_FALSE(split(f16));
    EXPECT_EQ(split(f16).error(), ExtensionError::BadMacLength);

    Bytes f24;  // 24 octets alone: indistinguishable from a SHA-1 MAC, so it is one
    add_field(f24, 0x0104, 24);
    auto m = split(f24);
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->fields.empty());
    EXPECT_EQ(m->mac.size(), 24u);
}

TEST(NtpExtension, NtsRulesRelaxTheLastFieldMinimum) {
    for (std::size_t len : {16u, 20u, 24u}) {
        Bytes b;
        add_field(b, 0x0404, len);
        auto s = split(b, ExtensionRules::Nts);
        ASSERT_TRUE(s) << len;
        EXPECT_EQ(s->fields.count(), 1u);
        EXPECT_TRUE(s->mac.empty());
    }
    Bytes two16;
    add_field(two16, 0x0104, 16);
    add_field(two16, 0x0204, 16);
    EXPECT_TRUE(split(two16, ExtensionRules::Nts));
    EXPECT_EQ(split(two16).error(), ExtensionError::BadMacLength);  // Rfc7822: trailing 16 is no MAC
    // No legacy MAC exists under NTS: trailing MAC-sized octets are a malformed field.
    Bytes mac;
    add_field(mac, 0x0104, 16);
    add_raw(mac, 20, 0);
    EXPECT_EQ(split(mac, ExtensionRules::Nts).error(), ExtensionError::BadField);
}

TEST(NtpExtension, FieldsBeforeAMacNeedOnly16Octets) {
    // (Before a 4-octet crypto-NAK the last field needs 24: see FieldBeforeCryptoNakIsPaddedTo24.)
    for (std::size_t mac_len : {20u, 24u}) {
        Bytes b;
        add_field(b, 0x0002, 16);
        add_field(b, 0x0003, 16);
        add_raw(b, mac_len);
        auto s = split(b);
        ASSERT_TRUE(s) << mac_len;
        EXPECT_EQ(s->fields.count(), 2u);
        EXPECT_EQ(s->mac.size(), mac_len);
        EXPECT_EQ(s->fields.bytes().size(), 32u);
    }
}

TEST(NtpExtension, MiddleFields16LastField28) {
    Bytes b;
    add_field(b, 1, 16);
    add_field(b, 2, 28);
    auto s = split(b);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->fields.count(), 2u);
}

TEST(NtpExtension, BadLengthsAreRejected) {
    struct Case {
        const char* what;
        std::size_t declared;
        std::size_t actual;
    };
    for (const Case& c : {Case{"zero", 0, 32}, Case{"below 16", 12, 32}, Case{"not a multiple of 4", 30, 32},
                          Case{"past the end", 36, 32}, Case{"huge", 0xFFFC, 32}}) {
        Bytes b;
        add_field(b, 7, c.declared, c.actual);
        ASSERT_EQ(b.size(), c.actual);
        auto s = split(b);
        ASSERT_FALSE(s) << c.what;
        EXPECT_EQ(s.error(), ExtensionError::BadField) << c.what;
    }
    // A good field followed by a bad one.
    Bytes b;
    add_field(b, 1, 16);
    add_field(b, 2, 40, 28);
    EXPECT_EQ(split(b).error(), ExtensionError::BadField);
}

TEST(NtpExtension, BadMacLengths) {
    for (std::size_t n : {8u, 12u, 16u}) {
        Bytes b;
        add_raw(b, n);
        EXPECT_EQ(split(b).error(), ExtensionError::BadMacLength) << n;
    }
    for (std::size_t n : {4u, 20u, 24u}) {
        Bytes b;
        add_raw(b, n);
        auto s = split(b);
        ASSERT_TRUE(s) << n;
        EXPECT_EQ(s->mac.size(), n);
    }
}

TEST(NtpExtension, MisalignedRegion) {
    for (std::size_t n : {1u, 2u, 3u, 29u}) {
        Bytes b;
        add_raw(b, n);
        EXPECT_EQ(split(b).error(), ExtensionError::Misaligned) << n;
    }
}

TEST(NtpExtension, IterateAndFind) {
    Bytes b;
    add_field(b, 0x0104, 36);
    add_field(b, 0x0204, 20);
    add_field(b, 0x0404, 40);
    auto s = split(b);
    ASSERT_TRUE(s);
    std::vector<std::uint16_t> types;
    std::vector<std::size_t> sizes;
    for (ExtensionField f : s->fields) {
        types.push_back(f.type);
        sizes.push_back(f.value.size());
        EXPECT_EQ(f.value[0], std::byte{0xA0});
    }
    EXPECT_EQ(types, (std::vector<std::uint16_t>{0x0104, 0x0204, 0x0404}));
    EXPECT_EQ(sizes, (std::vector<std::size_t>{32, 16, 36}));
    ASSERT_TRUE(s->fields.find(0x0204));
    EXPECT_EQ(s->fields.find(0x0204)->value.data(), b.data() + 36 + 4);
    EXPECT_FALSE(s->fields.find(0x0304));
}

TEST(NtpExtension, IteratingGarbageStopsSafely) {
    Bytes b;
    add_field(b, 1, 16);
    add_field(b, 2, 200, 20);  // claims more than there is
    ExtensionFields raw(b);
    EXPECT_EQ(raw.count(), 1u);
    EXPECT_EQ(ExtensionFields(std::span<const std::byte>(b).first(3)).count(), 0u);
}

TEST(NtpExtension, WireSizePadding) {
    static_assert(field_wire_size(0, kMinFieldSize) == 16);
    static_assert(field_wire_size(12, kMinFieldSize) == 16);
    static_assert(field_wire_size(13, kMinFieldSize) == 20);
    static_assert(field_wire_size(13, kMinLastFieldSize) == 28);
    static_assert(field_wire_size(32, kMinLastFieldSize) == 36);
    static_assert(min_last_field_size(0, ExtensionRules::Rfc7822) == 28);
    static_assert(min_last_field_size(4, ExtensionRules::Rfc7822) == 24);
    static_assert(min_last_field_size(20, ExtensionRules::Rfc7822) == 16);
    static_assert(min_last_field_size(24, ExtensionRules::Rfc7822) == 16);
    static_assert(min_last_field_size(0, ExtensionRules::Nts) == 16);
}

TEST(NtpExtension, FieldBeforeCryptoNakIsPaddedTo24) {
    // A 16-octet field + a 4-octet crypto-NAK would be 20 octets: read back as one MD5 MAC.
    Bytes ambiguous;
    add_field(ambiguous, 1, 16);
    add_raw(ambiguous, 4, 0);
    auto a = split(ambiguous);
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->fields.empty());
    EXPECT_EQ(a->mac.size(), 20u);

    const ExtensionField f[] = {{1, {}}};
    Bytes out(64);
    auto n = write_extensions(f, 4, ExtensionRules::Rfc7822, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 24u);
    out.resize(*n);
    add_raw(out, 4, 0);
    auto s = split(out);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->fields.count(), 1u);
    EXPECT_EQ(s->mac.size(), 4u);
}

TEST(NtpExtension, WritePadsPerRfc7822) {
    const std::byte v1[] = {std::byte{1}};
    const std::byte v13[13] = {std::byte{2}};
    const ExtensionField fields[] = {{0x0104, v1}, {0x0204, v13}};
    std::byte out[256];

    auto n = write_extensions(fields, /*mac_size=*/0, ExtensionRules::Rfc7822, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 16u + 28u);  // first field 16, last field padded to 28
    EXPECT_EQ(out[0], std::byte{0x01});
    EXPECT_EQ(out[1], std::byte{0x04});
    EXPECT_EQ(out[2], std::byte{0});
    EXPECT_EQ(out[3], std::byte{16});
    EXPECT_EQ(out[4], std::byte{1});
    for (int i = 5; i < 16; ++i) EXPECT_EQ(out[i], std::byte{0}) << i;  // zero padding
    EXPECT_EQ(out[16 + 3], std::byte{28});

    n = write_extensions(fields, /*mac_size=*/20, ExtensionRules::Rfc7822, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 16u + 20u);  // a MAC follows: only the 16-octet minimum and word alignment

    n = write_extensions(fields, /*mac_size=*/0, ExtensionRules::Nts, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 16u + 20u);  // RFC 8915 §5.7: no 28-octet rule

    // What was written splits back into the same fields.
    auto s = split_extensions(std::span<const std::byte>(out, *n), ExtensionRules::Nts);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->fields.count(), 2u);
}

TEST(NtpExtension, WriteErrors) {
    std::vector<std::byte> big(kMaxFieldSize - 3);
    const ExtensionField too_long[] = {{1, big}};
    std::vector<std::byte> out(70000);
    EXPECT_EQ(write_extensions(too_long, 20, ExtensionRules::Rfc7822, out).error(), SerializeError::FieldTooLong);
    const ExtensionField max_len[] = {{1, std::span<const std::byte>(big).first(kMaxFieldSize - 4)}};
    EXPECT_EQ(write_extensions(max_len, 20, ExtensionRules::Rfc7822, out).value(), kMaxFieldSize);

    const ExtensionField one[] = {{1, {}}};
    std::byte small[27];
    EXPECT_EQ(write_extensions(one, 0, ExtensionRules::Rfc7822, small).error(), SerializeError::BufferTooSmall);
    EXPECT_EQ(write_extensions(one, 20, ExtensionRules::Rfc7822, small).value(), 16u);
    EXPECT_EQ(to_string(SerializeError::FieldTooLong), "extension field too long");
    EXPECT_EQ(to_string(ExtensionError::BadField), "malformed extension field");
}

TEST(NtpExtensionProperty, WriteThenSplitRoundTrips) {
    const std::uint64_t seed = test_seed("NtpExtensionProperty.WriteThenSplitRoundTrips");
    SCOPED_TRACE("TIMEPIPE_SEED=" + std::to_string(seed));
    std::mt19937_64 rng(seed);
    for (int iter = 0; iter < 20'000; ++iter) {
        const auto rules = rng() % 2 ? ExtensionRules::Rfc7822 : ExtensionRules::Nts;
        const bool with_mac = rules == ExtensionRules::Rfc7822 && rng() % 2;
        static constexpr std::size_t kMacSizes[] = {4, 20, 24};
        const std::size_t mac_size = with_mac ? kMacSizes[rng() % 3] : 0;
        const std::size_t n = rng() % 5;
        std::vector<std::vector<std::byte>> values(n);
        std::vector<ExtensionField> fields;
        for (auto& v : values) {
            v.resize(rng() % 70);
            for (auto& b : v) b = std::byte(rng());
            fields.push_back({static_cast<std::uint16_t>(rng()), v});
        }
        std::vector<std::byte> out(1024);
        auto written = write_extensions(fields, mac_size, rules, out);
        ASSERT_TRUE(written);
        out.resize(*written);
        out.insert(out.end(), mac_size, std::byte{0x77});

        auto s = split_extensions(out, rules);
        ASSERT_TRUE(s) << "iter " << iter;
        EXPECT_EQ(s->mac.size(), mac_size);
        std::size_t i = 0;
        for (ExtensionField f : s->fields) {
            ASSERT_LT(i, n);
            EXPECT_EQ(f.type, fields[i].type);
            ASSERT_GE(f.value.size(), values[i].size());
            EXPECT_TRUE(std::equal(values[i].begin(), values[i].end(), f.value.begin()));
            EXPECT_TRUE(std::all_of(f.value.begin() + static_cast<std::ptrdiff_t>(values[i].size()), f.value.end(),
                                    [](std::byte b) { return b == std::byte{0}; }));
            ++i;
        }
        EXPECT_EQ(i, n);

        // Re-writing the parsed (padded) values gives the same octets.
        std::vector<ExtensionField> again(s->fields.begin(), s->fields.end());
        std::vector<std::byte> out2(1024);
        auto w2 = write_extensions(again, mac_size, rules, out2);
        ASSERT_TRUE(w2);
        EXPECT_EQ(*w2, s->fields.bytes().size());
        EXPECT_TRUE(std::equal(out2.begin(), out2.begin() + static_cast<std::ptrdiff_t>(*w2), out.begin()));
    }
}

}  // namespace
}  // namespace timepipe::ntp
