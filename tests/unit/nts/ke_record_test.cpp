// libtime/nts/ke_record and ke_message: the NTS-KE framing byte for byte (RFC 8915 §4), a
// message reassembled from one-octet pieces, and each side's rules — duplicates, unknown critical
// records, missing End of Message, Error records — refused with the right code and message.
#include <gtest/gtest.h>

#include <vector>

#include "libtime/nts/ke_message.hpp"
#include "libtime/nts/ke_record.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::nts;
using timepipe::test::hex;

namespace {

std::vector<KeRecord> records(const std::vector<std::byte>& bytes) {
    auto m = parse_ke_message(bytes);
    EXPECT_TRUE(m) << m.error().what;
    return m ? *m : std::vector<KeRecord>{};
}

std::string refusal(const std::vector<std::byte>& bytes, KeErrorCode want = KeErrorCode::bad_request) {
    auto r = decode_request(records(bytes));
    if (r) return "accepted";
    EXPECT_EQ(r.error().code, want) << r.error().what;
    return r.error().what;
}

}  // namespace

// The request every client sends first: NTPv4, AES-SIV-CMAC-256, End of Message, all critical.
TEST(NtsKeRecord, DefaultRequestIsExactlyTheseBytes) {
    EXPECT_EQ(encode_request(KeRequest{}), hex("8001 0002 0000   8004 0002 000f   8000 0000"));
    KeRequest r;
    r.aeads = {17, 15};
    r.server = "ntp.example";
    r.port = 123;
    auto m = records(encode_request(r));
    ASSERT_EQ(m.size(), 5u);
    EXPECT_EQ(m[2].type, 6);
    EXPECT_TRUE(m[2].critical);
    auto back = decode_request(m);
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, r);
}

TEST(NtsKeRecord, ReassemblesFromOneOctetPiecesAndRefusesTrailingBytes) {
    KeResponse resp;
    resp.protocol = 0;
    resp.aead = 15;
    for (int i = 0; i < 8; ++i) resp.cookies.push_back(std::vector<std::byte>(100, std::byte(i)));
    resp.server = "192.0.2.1";
    resp.port = 1123;
    auto bytes = encode_response(resp);
    KeMessageReader in;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        in.feed(std::span(bytes).subspan(i, 1));
        auto m = in.message();
        ASSERT_TRUE(m) << m.error().what;
        if (i + 1 < bytes.size()) {
            ASSERT_FALSE(*m) << "complete at octet " << i;
        } else {
            ASSERT_TRUE(*m);
            auto back = decode_response(**m);
            ASSERT_TRUE(back) << back.error().what;
            EXPECT_EQ(*back, resp);
        }
    }
    in.feed(hex("00"));  // anything after End of Message
    auto m = in.message();
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().what, "1 octets after End of Message");

    auto extra = bytes;
    extra.push_back(std::byte{0x80});
    auto p = parse_ke_message(extra);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().what, "1 octets after End of Message");
}

TEST(NtsKeRecord, TooLongOrTruncatedMessagesAreRefused) {
    std::vector<std::byte> big;
    for (int i = 0; i < 300; ++i) append_record(big, false, KeRecordType::new_cookie, std::vector<std::byte>(100));
    KeMessageReader in;
    in.feed(big);
    auto m = in.message();
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().what, "message longer than 16384 octets");
    auto t = parse_ke_message(hex("8001 0002 00"));
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().what, "truncated: no End of Message in 5 octets");
    // a header announcing more than the limit is refused before its body arrives
    KeMessageReader slow;
    slow.feed(hex("0005 ffff"));
    EXPECT_FALSE(slow.message());
}

TEST(NtsKeMessage, ServerRefusesBadRequests) {
    EXPECT_EQ(refusal(hex("8004 0002 000f 8000 0000")), "no Next Protocol record");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8000 0000")), "NTPv4 offered without an AEAD Algorithm record");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8001 0002 0000 8004 0002 000f 8000 0000")),
              "record 2 (Next Protocol, type 1): more than one");
    EXPECT_EQ(refusal(hex("0001 0002 0000 8004 0002 000f 8000 0000")),
              "record 1 (Next Protocol, type 1): critical bit not set");
    EXPECT_EQ(refusal(hex("8001 0003 000000 8004 0002 000f 8000 0000")),
              "record 1 (Next Protocol, type 1): record type 1: body of 3 octets is not a list of 16-bit numbers");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8004 0002 000f 8002 0002 0001 8000 0000")),
              "record 3 (Error, type 2): not allowed in a request");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8004 0002 000f 0005 0004 01020304 8000 0000")),
              "record 3 (New Cookie, type 5): not allowed in a request");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8004 0002 000f 8007 0001 01 8000 0000")),
              "record 3 (Port, type 7): Port body of 1 octets (2 expected)");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8004 0002 000f 8006 0002 2f20 8000 0000")),
              "record 3 (Server, type 6): Server body is not an ASCII host name or address");
    EXPECT_EQ(refusal(hex("8001 0002 0000 8004 0002 000f 0000 0000")),
              "record 3 (End of Message, type 0): must be critical and empty");
}

TEST(NtsKeMessage, UnknownCriticalRecordIsItsOwnErrorUnknownNonCriticalIsIgnored) {
    EXPECT_EQ(refusal(hex("8001 0002 0000 8004 0002 000f 8123 0000 8000 0000"), KeErrorCode::unrecognized_critical_record),
              "record 3 (unknown, type 291): unrecognized critical record");
    auto ok = decode_request(records(hex("8001 0002 0000 0123 0001 ff 8004 0002 000f 8000 0000")));
    ASSERT_TRUE(ok) << ok.error().what;
    EXPECT_EQ(ok->aeads, std::vector<std::uint16_t>{15});
}

TEST(NtsKeMessage, ServerChoosesNtpv4AndTheClientsFirstSupportedAead) {
    KeRequest r;
    r.protocols = {0x8000, 0};
    r.aeads = {30, 17, 15};
    const AeadAlgorithm both[] = {AeadAlgorithm::aes_siv_cmac_256, AeadAlgorithm::aes_siv_cmac_512};
    auto c = choose(r, both);
    EXPECT_EQ(c.protocol, 0);
    EXPECT_EQ(c.aead, AeadAlgorithm::aes_siv_cmac_512);
    const AeadAlgorithm only256[] = {AeadAlgorithm::aes_siv_cmac_256};
    EXPECT_EQ(choose(r, only256).aead, AeadAlgorithm::aes_siv_cmac_256);
    r.aeads = {30};
    EXPECT_FALSE(choose(r, both).aead);
    r.protocols = {0x8000};
    EXPECT_FALSE(choose(r, both).protocol);
}

TEST(NtsKeMessage, ClientRefusesErrorsAndIncompleteResponses) {
    auto err = decode_response(records(encode_error(KeErrorCode::bad_request)));
    ASSERT_FALSE(err);
    EXPECT_EQ(err.error().what, "server error: bad request");
    auto why = [](const char* h) {
        auto r = decode_response(records(hex(h)));
        return r ? std::string("accepted") : r.error().what;
    };
    EXPECT_EQ(why("8001 0000 8000 0000"), "the server supports none of the protocols offered");
    EXPECT_EQ(why("8001 0002 0000 0005 0004 01020304 8000 0000"),
              "no AEAD Algorithm record: the server supports none of the algorithms offered");
    EXPECT_EQ(why("8001 0002 0000 8004 0002 000f 8000 0000"), "no cookies");
    EXPECT_EQ(why("8001 0002 0000 8004 0004 000f 0011 0005 0004 01020304 8000 0000"),
              "record 2 (AEAD Algorithm, type 4): not exactly one algorithm");
    EXPECT_EQ(why("8001 0002 0000 8004 0002 000f 0005 0004 01020304 8099 0000 8000 0000"),
              "record 4 (unknown, type 153): unrecognized critical record");
    EXPECT_EQ(why("8001 0002 0000 8004 0002 000f 0005 0004 01020304 0099 0000 8000 0000"), "accepted");
    EXPECT_EQ(why("8001 0002 0000 8004 0002 000f 0005 0004 01020304 8007 0002 0401 8007 0002 0402 8000 0000"),
              "record 5 (Port, type 7): more than one");
    EXPECT_EQ(why("8001 0002 0001 8004 0002 000f 0005 0004 01020304 8000 0000"),
              "the server chose protocol 1, not NTPv4");
    // cookies of any length are taken as they come (a client must not assume its own length)
    auto r = decode_response(records(hex("8001 0002 0000 8004 0002 000f 0005 0004 01020304 0005 0006 010203040506 8000 0000")));
    ASSERT_TRUE(r) << r.error().what;
    ASSERT_EQ(r->cookies.size(), 2u);
    EXPECT_EQ(r->cookies[1].size(), 6u);
}
