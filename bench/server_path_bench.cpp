// Microbenchmarks of the server's per-request protocol work, without sockets: what
// ntp::Responder::handle costs for one client request, the figure to set against the total CPU
// per response that bench/ntp-serve-vs-chronyd measures (the rest is the kernel and the loop).
#include <array>
#include <cstddef>
#include <cstdint>

#include <benchmark/benchmark.h>

#include "libtime/server/interleave.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/server/responder.hpp"
#include "libtime/server/counters.hpp"

namespace {

using namespace timepipe;
using namespace timepipe::ntp;

constexpr UnixNanos kNow = 1'763'700'000'000'000'000;

std::array<std::byte, kHeaderSize> client_request(std::uint64_t transmit) {
    Header h;
    h.mode = Mode::Client;
    h.poll = 6;
    h.transmit = NtpTimestamp{transmit};
    std::array<std::byte, kHeaderSize> buf{};
    (void)serialize(h, {}, std::nullopt, buf);
    return buf;
}

// One client asking again and again, as the load generator's slots do.
void run(benchmark::State& st, InterleaveTable* table, bool interleaved) {
    ServerCounters counters;
    Responder r({.deny_kod = true, .interleaved = interleaved}, nullptr, table, counters);
    ServerState state = local_clock_state(2, -24, kNow);
    auto req = client_request(from_unix_nanos(kNow).raw);
    const std::array<std::byte, 4> client{std::byte{127}, {}, {}, std::byte{1}};
    std::array<std::byte, kHeaderSize> out{};
    UnixNanos t = kNow;
    for (auto _ : st) {
        t += 1000;
        Outcome o = r.handle(req, client, t, t + 200, t, state, out);
        benchmark::DoNotOptimize(o);
        benchmark::DoNotOptimize(out);
    }
    st.SetItemsProcessed(st.iterations());
}

void BM_RespondBasic(benchmark::State& st) { run(st, nullptr, false); }
BENCHMARK(BM_RespondBasic);

void BM_RespondWithInterleaveTable(benchmark::State& st) {
    InterleaveTable table(16384, std::array<std::byte, 16>{});
    run(st, &table, true);
}
BENCHMARK(BM_RespondWithInterleaveTable);

// 64 clients in turn (bench/ntp-serve-vs-chronyd -s 64 -S): one table lookup each, and
// the table's entries no longer all in one cache line.
void BM_RespondManyClients(benchmark::State& st) {
    InterleaveTable table(16384, std::array<std::byte, 16>{});
    ServerCounters counters;
    Responder r({.deny_kod = true, .interleaved = true}, nullptr, &table, counters);
    ServerState state = local_clock_state(2, -24, kNow);
    auto req = client_request(from_unix_nanos(kNow).raw);
    std::array<std::byte, kHeaderSize> out{};
    UnixNanos t = kNow;
    std::uint8_t i = 0;
    for (auto _ : st) {
        t += 1000;
        const std::array<std::byte, 4> client{std::byte{127}, {}, {}, std::byte(1 + (i++ & 63))};
        Outcome o = r.handle(req, client, t, t + 200, t, state, out);
        benchmark::DoNotOptimize(o);
        benchmark::DoNotOptimize(out);
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_RespondManyClients);

void BM_AcceptRequest(benchmark::State& st) {
    auto req = client_request(from_unix_nanos(kNow).raw);
    for (auto _ : st) {
        auto h = accept_request(req);
        benchmark::DoNotOptimize(h);
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_AcceptRequest);

}  // namespace
