// What an interface can timestamp: the kernel's struct ethtool_ts_info (ETHTOOL_GET_TS_INFO,
// read by libtime/sys/ethtool.hpp) decoded from its bytes, and the names ethtool(8) -T prints
// for its bits. Pure: bytes in, values out.
//
//   auto raw = sys::read_ts_info("eth0");                 // 44 bytes, host byte order
//   auto info = decode_ts_info(*raw);                      // Result<TsInfo>
//   for (auto name : timestamping_names(info->so_timestamping)) ...  // "software-transmit", ...
//
// The layout (include/uapi/linux/ethtool.h): u32 cmd, u32 so_timestamping, s32 phc_index,
// u32 tx_types, u32 tx_reserved[3], u32 rx_filters, u32 rx_reserved[3].
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::refclock {

inline constexpr std::size_t kTsInfoSize = 44;
inline constexpr std::uint32_t kEthtoolGetTsInfo = 0x41;  // ETHTOOL_GET_TS_INFO, the cmd field

// SOF_TIMESTAMPING_* bits (include/uapi/linux/net_tstamp.h) this code uses by name.
inline constexpr std::uint32_t kTxHardware = 1u << 0;
inline constexpr std::uint32_t kTxSoftware = 1u << 1;
inline constexpr std::uint32_t kRxHardware = 1u << 2;
inline constexpr std::uint32_t kRxSoftware = 1u << 3;
inline constexpr std::uint32_t kSoftwareClock = 1u << 4;
inline constexpr std::uint32_t kRawHardware = 1u << 6;

struct TsInfo {
    std::uint32_t so_timestamping = 0;  // SOF_TIMESTAMPING_* the interface supports
    std::int32_t phc_index = -1;        // /dev/ptpN, -1: none
    std::uint32_t tx_types = 0;         // bit n: HWTSTAMP_TX type n is supported
    std::uint32_t rx_filters = 0;       // bit n: HWTSTAMP_FILTER n is supported

    bool hardware_tx() const { return (so_timestamping & (kTxHardware | kRawHardware)) == (kTxHardware | kRawHardware); }
    bool hardware_rx() const { return (so_timestamping & (kRxHardware | kRawHardware)) == (kRxHardware | kRawHardware); }
    bool software_tx() const { return (so_timestamping & kTxSoftware) != 0; }
    bool software_rx() const { return (so_timestamping & kRxSoftware) != 0; }
    friend bool operator==(const TsInfo&, const TsInfo&) = default;
};

// Exactly kTsInfoSize bytes whose cmd is ETHTOOL_GET_TS_INFO; otherwise EX_DATAERR
// ("ethtool_ts_info: 12 bytes, expected 44"). A phc_index below -1 is refused too.
Result<TsInfo> decode_ts_info(std::span<const std::byte> raw);
// The inverse, for tests and fuzzing: the bytes decode_ts_info reads.
std::vector<std::byte> encode_ts_info(const TsInfo& info);

// struct hwtstamp_config (SIOCGHWTSTAMP, libtime/sys/ethtool.hpp): s32 flags, s32 tx_type,
// s32 rx_filter, host byte order. What is enabled now, as values (not bit masks).
inline constexpr std::size_t kHwtstampConfigSize = 12;
struct HwtstampConfig {
    std::uint32_t flags = 0;
    std::uint32_t tx_type = 0;    // HWTSTAMP_TX_*: 0 off, 1 on, ...
    std::uint32_t rx_filter = 0;  // HWTSTAMP_FILTER_*: 0 none, 1 all, ...
    friend bool operator==(const HwtstampConfig&, const HwtstampConfig&) = default;
};
// Exactly kHwtstampConfigSize bytes; otherwise EX_DATAERR.
Result<HwtstampConfig> decode_hwtstamp_config(std::span<const std::byte> raw);
std::vector<std::byte> encode_hwtstamp_config(const HwtstampConfig& config);
// The name of one value ("off", "ptpv2-event"), or its number when it has none.
std::string tx_type_name(std::uint32_t tx_type);
std::string rx_filter_name(std::uint32_t rx_filter);

// The names ethtool -T prints, lowest bit first; an unnamed bit is "bit-N".
std::vector<std::string> timestamping_names(std::uint32_t so_timestamping);
std::vector<std::string> tx_type_names(std::uint32_t tx_types);
std::vector<std::string> rx_filter_names(std::uint32_t rx_filters);

}  // namespace timepipe::refclock
