// Encoding and decoding of sample records: the cost every tool pays per record on its pipes.
#include <benchmark/benchmark.h>

#include <vector>

#include "libtime/stream/json_lines.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

namespace {

timepipe::Sample bench_sample(int i) {
    timepipe::Sample s;
    s.source = "ntp://192.0.2.1:123";
    s.time = 1700000000123456789 + i;
    s.offset = -0.000123 * i;
    s.delay = 0.00042;
    s.dispersion = 0.001;
    s.stratum = 2;
    s.refid = "192.0.2.7";
    s.poll = 6;
    s.reach = 0377;
    s.jitter = 0.0001;
    return s;
}

std::vector<std::byte> bench_stream(int n) {
    std::vector<std::byte> out;
    for (int i = 0; i < n; ++i) (void)timepipe::encode_record(timepipe::to_record(bench_sample(i)), out);
    return out;
}

void BM_EncodeSample(benchmark::State& state) {
    auto s = bench_sample(1);
    std::vector<std::byte> out;
    for (auto _ : state) {
        out.clear();
        benchmark::DoNotOptimize(timepipe::encode_record(timepipe::to_record(s), out));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(BM_EncodeSample);

void BM_DecodeSamples(benchmark::State& state) {
    auto bytes = bench_stream(1000);
    for (auto _ : state) {
        timepipe::StreamDecoder dec;
        dec.feed(bytes);
        dec.finish();
        int n = 0;
        for (;;) {
            auto r = dec.next();
            if (!r || !*r) break;
            auto s = timepipe::from_record<timepipe::Sample>(**r);
            benchmark::DoNotOptimize(s);
            ++n;
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_DecodeSamples);

// Pipes deliver small pieces: the decoder's cost when fed 512 bytes at a time.
void BM_DecodeSamplesChunked(benchmark::State& state) {
    auto bytes = bench_stream(1000);
    const std::size_t chunk = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        timepipe::StreamDecoder dec;
        int n = 0;
        for (std::size_t pos = 0; pos < bytes.size(); pos += chunk) {
            dec.feed(std::span(bytes).subspan(pos, std::min(chunk, bytes.size() - pos)));
            for (;;) {
                auto r = dec.next();
                if (!r || !*r) break;
                ++n;
            }
        }
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_DecodeSamplesChunked)->Arg(1)->Arg(512)->Arg(65536);

void BM_JsonLine(benchmark::State& state) {
    auto r = timepipe::to_record(bench_sample(1));
    for (auto _ : state) benchmark::DoNotOptimize(timepipe::to_json_line(r));
}
BENCHMARK(BM_JsonLine);

}  // namespace
