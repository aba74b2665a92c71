// Feeds decode_snapshot arbitrary bytes (what a status socket's peer could send timepipe-status
// or time-metrics), then the status view and both renderers. Properties: a snapshot that
// decodes starts from a valid status record and holds only records with a type, a source and an
// integer time; it survives a SnapshotStore round trip; the text never carries a control
// character but newline; the JSON is valid UTF-8 JSON with the documented top-level keys.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "libtime/observe/snapshot.hpp"
#include "libtime/observe/status_view.hpp"

using namespace timepipe;
using namespace timepipe::observe;

namespace {

void check_text(const std::string& text) {
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\n') || u == 0x7f) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto bytes = std::as_bytes(std::span(data, size));
    auto snap = decode_snapshot(bytes, "/run/timepipe/fuzz.sock");
    if (!snap) {
        if (snap.error().what.empty()) __builtin_trap();
        return 0;
    }
    if (snap->tool.pid <= 0 || snap->tool.source.empty()) __builtin_trap();
    for (const auto& r : snap->records) {
        if (record_type(r).empty() || record_type(r) == ToolStatus::kType) __builtin_trap();
        if (!r.contains("source") || !r["source"].is_string() || !r["time"].is_number_integer()) __builtin_trap();
    }

    // What a tool re-publishing these would answer: decodes again, to at most as many records.
    SnapshotStore store(snap->tool);
    for (const auto& r : snap->records) store.publish(r);
    auto again = decode_snapshot(store.encode(snap->tool.time), "again");
    if (!again || again->records.size() > snap->records.size() || again->tool != snap->tool) __builtin_trap();

    // Two copies (a source reported by two tools), and one endpoint that did not answer.
    std::vector<Snapshot> snaps{*snap, *again};
    auto view = build_status_view(snaps, {{"/bad\xff.sock", "connection refused", 69}}, snap->tool.time);
    for (auto section : {Section::all, Section::sources, Section::tracking, Section::servers, Section::tools})
        for (bool verbose : {false, true}) check_text(render_text(view, section, verbose));
    const std::string json = render_json(view);
    if (json.empty() || json.back() != '\n') __builtin_trap();
    auto parsed = nlohmann::ordered_json::parse(json, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) __builtin_trap();
    for (const char* key : {"version", "time", "tools", "sources", "tracking", "refusal", "servers", "roughtime",
                            "nts_ke", "stats", "records", "unreachable"})
        if (!parsed.contains(key)) __builtin_trap();
    if (parsed["tools"].size() != 2) __builtin_trap();
    return 0;
}
