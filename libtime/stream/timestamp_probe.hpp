// The records of hwts-probe(1): what timestamping an interface offers (timestamp_capabilities)
// and what one NTP exchange got back (timestamp_probe). Same pattern as
// libtime/stream/records.hpp: a struct with kType, to_record, and a strict from_record.
//
//   TimestampProbe p{.source = "ntp://127.0.0.1:123", .time = t1, .user_tx = t1, ...};
//   fill_differences(p);                    // the *_delay and round_trip fields from the stamps
//   encode_record(to_record(p), out);
//   auto back = from_record<TimestampProbe>(rec);   // "timestamp_probe: \"round_trip\": ..."
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe {

// An interface's ETHTOOL_GET_TS_INFO, by the names ethtool -T prints.
struct TimestampCapabilities {
    static constexpr std::string_view kType = "timestamp_capabilities";

    std::string source;               // "if://lo"
    UnixNanos time = 0;               // when it was read
    std::string interface;            // "lo"
    std::vector<std::string> capabilities;  // "software-transmit", ... (SOF_TIMESTAMPING_*)
    std::int64_t phc_index = -1;      // /dev/ptpN; -1: none
    std::vector<std::string> tx_types;      // "off", "on", ...
    std::vector<std::string> rx_filters;    // "none", "all", ...
    // What is enabled now (SIOCGHWTSTAMP), when the driver says: "off"/"on"/..., "none"/"all"/...
    std::optional<std::string> enabled_tx_type;
    std::optional<std::string> enabled_rx_filter;

    friend bool operator==(const TimestampCapabilities&, const TimestampCapabilities&) = default;
};

// One NTP request and its reply, with every timestamp that came back (ns since 1970,
// CLOCK_REALTIME except the hardware ones, which are the NIC's clock) and their differences (s).
struct TimestampProbe {
    static constexpr std::string_view kType = "timestamp_probe";

    std::string source;               // the server, "ntp://127.0.0.1:123"
    UnixNanos time = 0;               // == user_tx: when the request was sent
    std::int64_t seq = 0;             // 0, 1, ... in the order sent
    std::optional<std::string> interface;   // the one asked about (-i), if any
    UnixNanos user_tx = 0;            // clock read just before sendmsg(2)
    std::optional<UnixNanos> software_tx;   // kernel software TX stamp (SCM_TSTAMP_SND)
    std::optional<UnixNanos> hardware_tx;   // NIC TX stamp (raw hardware clock)
    std::optional<UnixNanos> software_rx;   // kernel software RX stamp of the reply
    std::optional<UnixNanos> hardware_rx;   // NIC RX stamp of the reply
    std::optional<UnixNanos> user_rx;       // clock read just after recvmsg(2); absent: no reply
    // Differences, present exactly when both their stamps are:
    std::optional<double> tx_delay;         // software_tx - user_tx: into the stack
    std::optional<double> rx_delay;         // user_rx - software_rx: out of the stack
    std::optional<double> round_trip;       // software_rx - software_tx: on the wire and the server
    std::optional<double> tx_hw_minus_sw;   // hardware_tx - software_tx
    std::optional<double> rx_hw_minus_sw;   // hardware_rx - software_rx

    friend bool operator==(const TimestampProbe&, const TimestampProbe&) = default;
};

// Sets (or clears) the difference fields from the stamps present.
void fill_differences(TimestampProbe& p);

Record to_record(const TimestampCapabilities& c);
Record to_record(const TimestampProbe& p);

// Every known key's type and range; unknown keys ignored. TimestampProbe also: time equals
// user_tx, user_rx not before user_tx, each difference present exactly when its stamps are and
// equal (to 1 ns) to their difference. Errors EX_DATAERR, naming type and key.
template <>
Result<TimestampCapabilities> from_record<TimestampCapabilities>(const Record& record);
template <>
Result<TimestampProbe> from_record<TimestampProbe>(const Record& record);

}  // namespace timepipe
