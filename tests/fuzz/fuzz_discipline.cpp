// libFuzzer target for discipline's input: a CBOR stream of records (mostly samples with hostile
// values) through the engine. Nothing crashes, every sample yields exactly one adjust (last),
// and every record written reads back with from_record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "libtime/discipline/discipline.hpp"
#include "libtime/stream/codec.hpp"

using namespace timepipe;
using namespace timepipe::discipline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    StreamDecoder dec;
    dec.feed(std::as_bytes(std::span(data, size)));
    dec.finish();
    DisciplineConfig cfg;
    cfg.min_sources = size % 3 + 1;
    Discipline d(cfg);
    for (int i = 0; i < 1000; ++i) {
        auto r = dec.next();
        if (!r || !*r) break;
        auto out = d.on_record(**r);
        if (!out) continue;
        const bool sample = record_type(**r) == Sample::kType;
        std::size_t adjusts = 0;
        for (const auto& rec : out->records) {
            auto type = record_type(rec);
            bool ok = type == Adjust::kType     ? (++adjusts, bool(from_record<Adjust>(rec)))
                      : type == Tracking::kType ? bool(from_record<Tracking>(rec))
                      : type == Refusal::kType  ? bool(from_record<Refusal>(rec))
                                                : false;
            if (!ok) std::abort();
            std::vector<std::byte> bytes;
            if (!encode_record(rec, bytes)) std::abort();
        }
        if (adjusts != (sample ? 1u : 0u)) std::abort();
        if (sample && record_type(out->records.back()) != Adjust::kType) std::abort();
        if (out->fatal) break;
    }
    return 0;
}
