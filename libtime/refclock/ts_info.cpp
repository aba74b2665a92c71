#include "libtime/refclock/ts_info.hpp"

#include <array>
#include <cstring>
#include "libtime/base/bytes.hpp"

namespace timepipe::refclock {
namespace {

// The kernel's names (net/ethtool/common.c: sof_timestamping_names, ts_tx_type_names,
// ts_rx_filter_names), which ethtool -T prints.
constexpr std::array<std::string_view, 18> kTimestampingNames = {
    "hardware-transmit", "software-transmit", "hardware-receive", "software-receive",
    "software-system-clock", "hardware-legacy-clock", "hardware-raw-clock", "option-id",
    "sched-transmit", "ack-transmit", "option-cmsg", "option-tsonly",
    "option-stats", "option-pktinfo", "option-tx-swhw", "bind-phc",
    "option-id-tcp", "option-rx-filter",
};
constexpr std::array<std::string_view, 4> kTxTypeNames = {"off", "on", "onestep-sync", "onestep-p2p"};
constexpr std::array<std::string_view, 16> kRxFilterNames = {
    "none", "all", "some", "ptpv1-l4-event", "ptpv1-l4-sync", "ptpv1-l4-delay-req",
    "ptpv2-l4-event", "ptpv2-l4-sync", "ptpv2-l4-delay-req", "ptpv2-l2-event", "ptpv2-l2-sync",
    "ptpv2-l2-delay-req", "ptpv2-event", "ptpv2-sync", "ptpv2-delay-req", "ntp-all",
};

template <std::size_t N>
std::vector<std::string> names(std::uint32_t bits, const std::array<std::string_view, N>& table) {
    std::vector<std::string> out;
    for (unsigned i = 0; i < 32; ++i) {
        if ((bits & (1u << i)) == 0) continue;
        out.push_back(i < N ? std::string(table[i]) : "bit-" + std::to_string(i));
    }
    return out;
}


void put_u32(std::vector<std::byte>& out, std::size_t offset, std::uint32_t v) {
    std::memcpy(out.data() + offset, &v, sizeof v);
}

}  // namespace

Result<TsInfo> decode_ts_info(std::span<const std::byte> raw) {
    if (raw.size() != kTsInfoSize)
        return fail("ethtool_ts_info: " + std::to_string(raw.size()) + " bytes, expected " +
                    std::to_string(kTsInfoSize));
    if (host_u32_at(raw, 0) != kEthtoolGetTsInfo)
        return fail("ethtool_ts_info: cmd " + std::to_string(host_u32_at(raw, 0)) + " is not ETHTOOL_GET_TS_INFO");
    TsInfo info;
    info.so_timestamping = host_u32_at(raw, 4);
    info.phc_index = static_cast<std::int32_t>(host_u32_at(raw, 8));
    info.tx_types = host_u32_at(raw, 12);
    info.rx_filters = host_u32_at(raw, 28);
    if (info.phc_index < -1)
        return fail("ethtool_ts_info: phc_index " + std::to_string(info.phc_index) + " is below -1");
    return info;
}

std::vector<std::byte> encode_ts_info(const TsInfo& info) {
    std::vector<std::byte> out(kTsInfoSize);
    put_u32(out, 0, kEthtoolGetTsInfo);
    put_u32(out, 4, info.so_timestamping);
    put_u32(out, 8, static_cast<std::uint32_t>(info.phc_index));
    put_u32(out, 12, info.tx_types);
    put_u32(out, 28, info.rx_filters);
    return out;
}

Result<HwtstampConfig> decode_hwtstamp_config(std::span<const std::byte> raw) {
    if (raw.size() != kHwtstampConfigSize)
        return fail("hwtstamp_config: " + std::to_string(raw.size()) + " bytes, expected " +
                    std::to_string(kHwtstampConfigSize));
    return HwtstampConfig{host_u32_at(raw, 0), host_u32_at(raw, 4), host_u32_at(raw, 8)};
}

std::vector<std::byte> encode_hwtstamp_config(const HwtstampConfig& config) {
    std::vector<std::byte> out(kHwtstampConfigSize);
    put_u32(out, 0, config.flags);
    put_u32(out, 4, config.tx_type);
    put_u32(out, 8, config.rx_filter);
    return out;
}

std::string tx_type_name(std::uint32_t tx_type) {
    return tx_type < kTxTypeNames.size() ? std::string(kTxTypeNames[tx_type]) : std::to_string(tx_type);
}
std::string rx_filter_name(std::uint32_t rx_filter) {
    return rx_filter < kRxFilterNames.size() ? std::string(kRxFilterNames[rx_filter]) : std::to_string(rx_filter);
}

std::vector<std::string> timestamping_names(std::uint32_t so_timestamping) {
    return names(so_timestamping, kTimestampingNames);
}
std::vector<std::string> tx_type_names(std::uint32_t tx_types) { return names(tx_types, kTxTypeNames); }
std::vector<std::string> rx_filter_names(std::uint32_t rx_filters) { return names(rx_filters, kRxFilterNames); }

}  // namespace timepipe::refclock
