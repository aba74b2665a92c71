// Status snapshots: what a tool's --status-socket answers with (man/time-stream.5, "Status
// snapshots"). A tool publishes every record it writes or counts into a SnapshotStore; each
// client of the socket gets store.encode(now): one `status` record (who answers), then the newest
// record of each (type, source) pair, as a CBOR sequence, then EOF. Readers (timepipe-status,
// time-metrics) decode it back with decode_snapshot.
//
//   SnapshotStore store(who);                  // who: ToolStatus without time
//   store.publish(to_record(sample));           // from any thread
//   auto bytes = store.encode(clock.now());     // what one client receives
//   auto snap = decode_snapshot(bytes, "/run/timepipe/ntp-serve/status.sock");
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::observe {

class SnapshotStore {
public:
    explicit SnapshotStore(ToolStatus who);

    // Keeps `record` as the newest of its (type, source); records without both are ignored.
    // Thread-safe: a tool's loop publishes while the status socket's thread encodes.
    void publish(const Record& record);
    // The status record (time = now) then the kept records, ordered by type then source.
    std::vector<std::byte> encode(UnixNanos now) const;

private:
    ToolStatus who_;
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, std::string>, Record> latest_;
};

// One status socket's answer, decoded and checked: the first record is a valid `status`, every
// other record has a type, a source and a time (unknown types are kept: newer tools may add some).
struct Snapshot {
    std::string endpoint;          // where it came from: the socket path
    ToolStatus tool;
    std::vector<Record> records;   // in the order received, status record excluded
};

Result<Snapshot> decode_snapshot(std::span<const std::byte> bytes, std::string endpoint);

}  // namespace timepipe::observe
