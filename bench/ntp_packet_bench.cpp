// Microbenchmarks of the NTP packet codec: the per-request work of a server (parse a 48-octet
// request, serialise a reply) and of an NTS-sized packet with extension fields.
#include <array>
#include <vector>

#include <benchmark/benchmark.h>

#include "libtime/ntp/packet.hpp"

namespace {

using namespace timepipe::ntp;

Header client_header() {
    Header h;
    h.mode = Mode::Client;
    h.poll = 6;
    h.precision = -20;
    h.transmit = NtpTimestamp{0xE900'0011'4000'0000u};
    return h;
}

Header server_header() {
    Header h = client_header();
    h.mode = Mode::Server;
    h.stratum = 2;
    h.root_delay = NtpShort{0x0000'0A00u};
    h.root_dispersion = NtpShort{0x0000'0400u};
    h.refid = 0xC000'0201u;
    h.reference = NtpTimestamp{0xE900'0000'0000'0000u};
    h.origin = h.transmit;
    h.receive = NtpTimestamp{0xE900'0011'4000'1000u};
    h.transmit = NtpTimestamp{0xE900'0011'4000'2000u};
    return h;
}

// Unique identifier, cookie and authenticator, sized like an NTS request.
struct NtsFields {
    std::array<std::byte, 32> uid{};
    std::array<std::byte, 100> cookie{};
    std::array<std::byte, 52> auth{};
    std::array<ExtensionField, 3> fields{{{0x0104, uid}, {0x0204, cookie}, {0x0404, auth}}};
};

std::vector<std::byte> encode(const Header& h, std::span<const ExtensionField> fields) {
    std::vector<std::byte> out(1024);
    out.resize(serialize(h, fields, std::nullopt, out).value());
    return out;
}

void BM_ParseClientRequest(benchmark::State& state) {
    const auto packet = encode(client_header(), {});
    for (auto _ : state) {
        auto p = parse(packet);
        benchmark::DoNotOptimize(p);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * packet.size()));
}
BENCHMARK(BM_ParseClientRequest);

void BM_SerializeServerReply(benchmark::State& state) {
    const Header h = server_header();
    std::array<std::byte, 48> out{};
    for (auto _ : state) {
        auto n = serialize(h, {}, std::nullopt, out);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_SerializeServerReply);

void BM_ParseNtsRequest(benchmark::State& state) {
    const NtsFields nts;
    const auto packet = encode(client_header(), nts.fields);
    for (auto _ : state) {
        auto p = parse(packet);
        std::size_t n = 0;
        for (ExtensionField f : p->extensions) n += f.value.size();
        benchmark::DoNotOptimize(n);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * packet.size()));
}
BENCHMARK(BM_ParseNtsRequest);

void BM_SerializeNtsReply(benchmark::State& state) {
    const NtsFields nts;
    const Header h = server_header();
    std::array<std::byte, 512> out{};
    for (auto _ : state) {
        auto n = serialize(h, nts.fields, std::nullopt, out);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_SerializeNtsReply);

}  // namespace
