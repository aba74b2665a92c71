// libtime/roughtime_server_list: RFC 10049 appendix A and the five ecosystem files in
// shared/vectors/roughtime/server-lists parse with the right servers, keys, versions and
// addresses; malformed lists fail naming the JSON path; base64/hex codecs; randomized
// list -> JSON -> list and bytes -> base64 -> bytes round trips (TIMEPIPE_SEED=N replays one).
//
// Vectors: $TIMEPIPE_VECTORS, else ../shared/vectors from the current directory. Missing vectors
// fail the test.
#include "libtime/roughtime/server_list.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {

using timepipe::test::read_vector_text;
using timepipe::test::test_seed;

std::string key_b64(const Server& s) { return base64_encode(s.public_key); }

std::string server_list_error(std::string_view json) {
    auto r = parse_server_list(json);
    if (r) return "no error";
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);
    return r.error().what;
}

// A valid one-server list with `field` of servers[0] replaced by `value` (raw JSON text).
std::string with_field(const std::string& field, const std::string& value) {
    nlohmann::ordered_json j = {{"name", "s"},
                                {"version", 1},
                                {"publicKeyType", "ed25519"},
                                {"publicKey", "2O3mkkheDExCuhG+ZNIoWmO/IdCdLzADgUn8SnC4hME="},
                                {"addresses", {{{"protocol", "udp"}, {"address", "192.0.2.1:2002"}}}}};
    if (value == "<absent>") j.erase(field);
    else j[field] = nlohmann::ordered_json::parse(value);
    return nlohmann::ordered_json{{"servers", {j}}}.dump();
}

using Versions = std::vector<Version>;
const Versions kIetf{Version::Rfc, Version::Draft12, Version::Draft11, Version::Draft08};

}  // namespace

TEST(RoughtimeServerList, AppendixA) {
    auto list = parse_server_list(read_vector_text("rfc-draft19/appendix-a-example-server-list.json"));
    ASSERT_TRUE(list) << list.error().what;
    ASSERT_EQ(list->servers.size(), 2u);
    EXPECT_TRUE(list->skipped.empty());
    const auto& a = list->servers[0];
    EXPECT_EQ(a.index, 0u);
    EXPECT_EQ(a.name, "example.com Roughtime server");
    EXPECT_EQ(a.versions, (Versions{Version::Rfc}));
    EXPECT_EQ(key_b64(a), "2O3mkkheDExCuhG+ZNIoWmO/IdCdLzADgUn8SnC4hME=");
    ASSERT_EQ(a.addresses.size(), 2u);
    EXPECT_EQ(a.addresses[0], (ServerAddress{Transport::udp, {"roughtime.example.com", 2002}}));
    EXPECT_EQ(a.addresses[1], (ServerAddress{Transport::tcp, {"roughtime.example.com", 2002}}));
    const auto& b = list->servers[1];
    EXPECT_EQ(b.index, 1u);
    EXPECT_EQ(key_b64(b), "ZYfeGa94YuG1IZrV3kR9+8/nmZ2lX2XyHmiSb+wI0OY=");
    ASSERT_EQ(b.addresses.size(), 2u);
    EXPECT_EQ(b.addresses[0], (ServerAddress{Transport::udp, {"192.0.2.33", 2002}}));
    EXPECT_EQ(b.addresses[1], (ServerAddress{Transport::udp, {"2001:db8::2:33", 2002}}));
    EXPECT_EQ(list->sources, (std::vector<std::string>{"https://www.example.net/roughtime/ecosystem.json",
                                                       "https://www.example.org/roughtime/ecosystem.json"}));
    EXPECT_EQ(list->reports, "https://www.example.net/roughtime/malfeasance");
}

TEST(RoughtimeServerList, CloudflareEcosystem) {
    for (const char* file : {"server-lists/cloudflare-ecosystem.json",
                             "server-lists/roughenough-serverlist-cloudflare.json"}) {
        SCOPED_TRACE(file);
        auto list = parse_server_list(read_vector_text(file));
        ASSERT_TRUE(list) << list.error().what;
        ASSERT_EQ(list->servers.size(), 4u);
        EXPECT_TRUE(list->skipped.empty());
        const char* names[] = {"Cloudflare-Roughtime-2", "int08h-Roughtime", "roughtime.se", "time.txryan.com"};
        const char* keys[] = {"0GD7c3yP8xEc4Zl2zeuN2SlLvDVVocjsPSL8/Rl/7zg=",
                              "AW5uAoTSTDfG5NfY1bTh08GUnOqlRb+HVhbJ3ODJvsE=",
                              "S3AzfZJ5CjSdkJ21ZJGbxqdYP/SoE8fXKY0+aicsehI=",
                              "iBVjxg/1j7y1+kQUTBYdTabxCppesU/07D4PMDJk2WA="};
        for (std::size_t i = 0; i < 4; ++i) {
            EXPECT_EQ(list->servers[i].name, names[i]);
            EXPECT_EQ(key_b64(list->servers[i]), keys[i]);
            EXPECT_EQ(list->servers[i].versions, kIetf);
            ASSERT_EQ(list->servers[i].addresses.size(), 1u);
            EXPECT_EQ(list->servers[i].addresses[0].transport, Transport::udp);
        }
        EXPECT_EQ(list->servers[0].addresses[0].address, (HostPort{"roughtime.cloudflare.com", 2003}));
        EXPECT_EQ(list->servers[3].addresses[0].address, (HostPort{"time.txryan.com", 2002}));
        EXPECT_TRUE(list->sources.empty());
        EXPECT_FALSE(list->reports);
    }
}

TEST(RoughtimeServerList, PyroughtimeWithoutVersion) {
    auto list = parse_server_list(read_vector_text("server-lists/pyroughtime-ecosystem.json"));
    ASSERT_TRUE(list) << list.error().what;
    ASSERT_EQ(list->servers.size(), 2u);
    EXPECT_EQ(list->servers[0].name, "time.txryan.com");
    EXPECT_EQ(list->servers[0].versions, kIetf);
    EXPECT_EQ(key_b64(list->servers[1]), "S3AzfZJ5CjSdkJ21ZJGbxqdYP/SoE8fXKY0+aicsehI=");
    EXPECT_EQ(list->servers[1].addresses[0].address, (HostPort{"roughtime.se", 2002}));
}

TEST(RoughtimeServerList, RoughenoughLocalhostHexKeys) {
    auto list = parse_server_list(read_vector_text("server-lists/roughenough-serverlist-localhost.json"));
    ASSERT_TRUE(list) << list.error().what;
    ASSERT_EQ(list->servers.size(), 4u);
    for (std::size_t i = 0; i < 4; ++i) {
        EXPECT_EQ(list->servers[i].name, "localhost-200" + std::to_string(i + 1));
        EXPECT_EQ(std::vector<std::byte>(list->servers[i].public_key.begin(), list->servers[i].public_key.end()),
                  test::hex("3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"));
        EXPECT_EQ(list->servers[i].addresses[0].address,
                  (HostPort{"127.0.0.1", static_cast<std::uint16_t>(2001 + i)}));
    }
}

TEST(RoughtimeServerList, TannerryanSkipsPostQuantumKey) {
    auto list = parse_server_list(read_vector_text("server-lists/tannerryan-ecosystem.json"));
    ASSERT_TRUE(list) << list.error().what;
    ASSERT_EQ(list->servers.size(), 8u);
    ASSERT_EQ(list->skipped.size(), 1u);
    EXPECT_EQ(list->skipped[0].index, 1u);
    EXPECT_EQ(list->skipped[0].name, "time.txryan.com-pq");
    EXPECT_EQ(list->skipped[0].reason, "publicKeyType \"ml-dsa-44\" not supported");
    EXPECT_EQ(list->servers[0].addresses.size(), 2u);
    EXPECT_EQ(list->servers[0].addresses[1].transport, Transport::tcp);
    EXPECT_EQ(list->servers[1].index, 2u);
    EXPECT_EQ(list->servers[1].name, "Cloudflare-Roughtime-2");
    EXPECT_EQ(list->servers[7].name, "TimeNL-Roughtime");
    EXPECT_EQ(key_b64(list->servers[7]), "v2CievhgKsxzlWPwIkYFUXeA51Akhkv5uhJCj1/kbiY=");
    EXPECT_EQ(list->servers[7].addresses[0].address, (HostPort{"rough.time.nl", 2002}));
}

TEST(RoughtimeServerList, VersionForms) {
    auto hint = [](const std::string& v) -> std::optional<Versions> {
        auto r = parse_server_list(with_field("version", v));
        EXPECT_TRUE(r) << v << ": " << r.error().what;
        if (!r || r->servers.empty()) return std::nullopt;
        return r->servers[0].versions;
    };
    EXPECT_EQ(hint("1"), (Versions{Version::Rfc}));
    EXPECT_EQ(hint("2147483660"), (Versions{Version::Draft12}));
    EXPECT_EQ(hint("2147483659"), (Versions{Version::Draft11}));
    EXPECT_EQ(hint("2147483656"), (Versions{Version::Draft08}));
    EXPECT_EQ(hint("3000600613"), (Versions{Version::Google}));
    EXPECT_EQ(hint("\"Google-Roughtime\""), (Versions{Version::Google}));
    EXPECT_EQ(hint("\"IETF-Roughtime\""), kIetf);
    EXPECT_EQ(hint("<absent>"), kIetf);
    // Well-formed versions this library does not speak: skipped, with the reason.
    for (const char* v : {"2", "0", "\"Future-Roughtime\""}) {
        auto r = parse_server_list(with_field("version", v));
        ASSERT_TRUE(r) << v;
        EXPECT_TRUE(r->servers.empty());
        ASSERT_EQ(r->skipped.size(), 1u);
        EXPECT_EQ(r->skipped[0].reason, std::string("version ") + v + " not supported");
    }
}

TEST(RoughtimeServerList, Errors) {
    EXPECT_EQ(server_list_error(""), "server list: byte 1: not valid JSON");
    EXPECT_EQ(server_list_error("{\"servers\": [}"), "server list: byte 14: not valid JSON");
    EXPECT_EQ(server_list_error("7e777"), "server list: not valid JSON (number out of range)");  // fuzz
    EXPECT_EQ(server_list_error("[]"), "server list: not a JSON object");
    EXPECT_EQ(server_list_error("{}"), "servers: missing");
    EXPECT_EQ(server_list_error("{\"servers\": {}}"), "servers: not an array");
    EXPECT_EQ(server_list_error("{\"servers\": [1]}"), "servers[0]: not an object");
    EXPECT_EQ(server_list_error(with_field("name", "<absent>")), "servers[0].name: missing");
    EXPECT_EQ(server_list_error(with_field("name", "7")), "servers[0].name: not a string");
    EXPECT_EQ(server_list_error(with_field("version", "-1")), "servers[0].version: negative");
    EXPECT_EQ(server_list_error(with_field("version", "1.5")), "servers[0].version: not an integer or a version name");
    EXPECT_EQ(server_list_error(with_field("version", "4294967296")), "servers[0].version: out of range");
    EXPECT_EQ(server_list_error(with_field("publicKeyType", "<absent>")), "servers[0].publicKeyType: missing");
    EXPECT_EQ(server_list_error(with_field("publicKey", "<absent>")), "servers[0].publicKey: missing");
    EXPECT_EQ(server_list_error(with_field("publicKey", "\"AAAA\"")), "servers[0].publicKey: not 32 bytes");
    EXPECT_EQ(server_list_error(with_field("publicKey", "\"2O3mkkheDExCuhG+ZNIoWmO/IdCdLzADgUn8SnC4hME=AA\"")),
              "servers[0].publicKey: not base64 or hex");
    EXPECT_EQ(server_list_error(with_field("publicKey", "\"not a key!\"")), "servers[0].publicKey: not base64 or hex");
    EXPECT_EQ(server_list_error(with_field("addresses", "<absent>")), "servers[0].addresses: missing");
    EXPECT_EQ(server_list_error(with_field("addresses", "{}")), "servers[0].addresses: not an array");
    EXPECT_EQ(server_list_error(with_field("addresses", "[]")), "servers[0].addresses: empty");
    EXPECT_EQ(server_list_error(with_field("addresses", "[\"x\"]")), "servers[0].addresses[0]: not an object");
    EXPECT_EQ(server_list_error(with_field("addresses", R"([{"protocol":"sctp","address":"a:1"}])")),
              "servers[0].addresses[0].protocol: not udp or tcp");
    EXPECT_EQ(server_list_error(with_field("addresses", R"([{"protocol":"udp","address":"a:1"},{"protocol":"udp"}])")),
              "servers[0].addresses[1].address: missing");
    EXPECT_EQ(server_list_error(with_field("addresses", R"([{"protocol":"udp","address":"a.example"}])")),
              "servers[0].addresses[0].address: missing port");
    EXPECT_EQ(server_list_error(with_field("addresses", R"([{"protocol":"udp","address":"a:99999"}])")),
              "servers[0].addresses[0].address: port out of range (0-65535)");
    EXPECT_EQ(server_list_error(with_field("addresses", R"([{"protocol":"udp","address":"[fe80::1%eth0]:2002"}])")),
              "servers[0].addresses[0].address: IPv6 zone not allowed");
    EXPECT_EQ(server_list_error(R"({"servers": [], "sources": ["http://x.example/l.json"]})"),
              "sources[0]: not an https URL");
    EXPECT_EQ(server_list_error(R"({"servers": [], "sources": "https://x.example/l.json"})"), "sources: not an array");
    EXPECT_EQ(server_list_error(R"({"servers": [], "reports": 1})"), "reports: not a string");
    EXPECT_EQ(server_list_error(R"({"servers": [], "reports": "ftp://x"})"), "reports: not an https URL");

    // The index names the entry at fault, not the first.
    auto list = nlohmann::ordered_json::parse(read_vector_text("rfc-draft19/appendix-a-example-server-list.json"));
    list["servers"].push_back(list["servers"][0]);
    list["servers"][2]["publicKey"] = "AAECAwQ=";
    EXPECT_EQ(server_list_error(list.dump()), "servers[2].publicKey: not 32 bytes");
}

TEST(RoughtimeServerList, RandomRoundTrip) {
    std::mt19937_64 rng(test_seed("roughtime_server_list_test"));
    const Versions hints[] = {kIetf, {Version::Google}, {Version::Rfc}, {Version::Draft12}, {Version::Draft08}};
    const char* hosts[] = {"roughtime.example.com", "192.0.2.7", "2001:db8::1", "a-b.c_d.example"};
    for (int round = 0; round < 200; ++round) {
        ServerList list;
        auto n = rng() % 5;
        for (std::size_t i = 0; i < n; ++i) {
            Server s;
            s.index = i;
            s.name = "server " + std::to_string(rng());
            s.versions = hints[rng() % 5];
            for (auto& b : s.public_key) b = static_cast<std::byte>(rng());
            for (std::size_t k = 0, m = 1 + rng() % 3; k < m; ++k)
                s.addresses.push_back({rng() % 2 ? Transport::udp : Transport::tcp,
                                       {hosts[rng() % 4], static_cast<std::uint16_t>(rng())}});
            list.servers.push_back(std::move(s));
        }
        if (rng() % 2) list.sources = {"https://example.net/list.json"};
        if (rng() % 2) list.reports = "https://example.net/report";
        auto back = parse_server_list(to_json(list).dump(int(rng() % 3) - 1));
        ASSERT_TRUE(back) << back.error().what;
        ASSERT_EQ(back->servers.size(), list.servers.size());
        for (std::size_t i = 0; i < n; ++i) {
            EXPECT_EQ(back->servers[i].index, i);
            EXPECT_EQ(back->servers[i].name, list.servers[i].name);
            EXPECT_EQ(back->servers[i].versions, list.servers[i].versions);
            EXPECT_EQ(back->servers[i].public_key, list.servers[i].public_key);
            EXPECT_EQ(back->servers[i].addresses, list.servers[i].addresses);
        }
        EXPECT_EQ(back->sources, list.sources);
        EXPECT_EQ(back->reports, list.reports);
    }
}
