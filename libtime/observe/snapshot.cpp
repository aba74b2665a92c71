#include "libtime/observe/snapshot.hpp"

#include <optional>

namespace timepipe::observe {

namespace {

// The (type, source) a record is kept under, or nullopt if it lacks either.
std::optional<std::pair<std::string, std::string>> key_of(const Record& record) {
    if (!record.is_object()) return std::nullopt;
    auto type = record_type(record);
    auto source = record.find("source");
    if (type.empty() || source == record.end() || !source->is_string()) return std::nullopt;
    return std::pair{std::string(type), source->get<std::string>()};
}

}  // namespace

SnapshotStore::SnapshotStore(ToolStatus who) : who_(std::move(who)) {}

void SnapshotStore::publish(const Record& record) {
    auto key = key_of(record);
    // A status record is the store's own to write: a published one would answer for another tool.
    if (!key || key->first == ToolStatus::kType) return;
    std::lock_guard lock(mutex_);
    latest_.insert_or_assign(std::move(*key), record);
}

std::vector<std::byte> SnapshotStore::encode(UnixNanos now) const {
    ToolStatus status = who_;
    status.time = now;
    std::vector<std::byte> out;
    // Encoding a ToolStatus built by the tool cannot fail unless it is malformed (empty
    // source or version): then the snapshot is empty and readers say "no status record".
    if (!encode_record(to_record(status), out)) return {};
    std::lock_guard lock(mutex_);
    for (const auto& [key, record] : latest_) {
        (void)key;
        // A record that breaks the stream's rules (a NaN offset) is left out, never half-written.
        (void)encode_record(record, out);
    }
    return out;
}

Result<Snapshot> decode_snapshot(std::span<const std::byte> bytes, std::string endpoint) {
    StreamDecoder decoder;
    decoder.feed(bytes);
    decoder.finish();
    Snapshot snap;
    snap.endpoint = std::move(endpoint);
    bool have_status = false;
    for (;;) {
        std::uint64_t at = decoder.offset();
        auto next = decoder.next();
        if (!next) return Unexpected<Error>{next.error()};
        if (!*next) break;
        const Record& record = **next;
        auto where = "byte " + std::to_string(at) + ": ";
        if (!have_status) {
            auto status = from_record<ToolStatus>(record);
            if (!status) {
                if (record_type(record) != ToolStatus::kType)
                    return fail(where + "first record is not a status record", EX_DATAERR);
                return fail(where + status.error().what, EX_DATAERR);
            }
            snap.tool = std::move(*status);
            have_status = true;
            continue;
        }
        if (record_type(record) == ToolStatus::kType)
            return fail(where + "a second status record", EX_DATAERR);
        if (!key_of(record))
            return fail(where + std::string(record_type(record)) + ": no \"source\"", EX_DATAERR);
        auto time = record.find("time");
        if (time == record.end() || !time->is_number_integer())
            return fail(where + std::string(record_type(record)) + ": \"time\": not an integer",
                        EX_DATAERR);
        snap.records.push_back(record);
    }
    if (!have_status) return fail("empty snapshot: no status record", EX_DATAERR);
    return snap;
}

}  // namespace timepipe::observe
