// The decoders of what the kernel hands hwts-probe (libtime/refclock/ts_info and phc_offset):
// struct ethtool_ts_info, hwtstamp_config and the three ptp_sys_offset structs, as a driver
// could fill them.
// The first byte picks the struct; the rest, cut or zero-padded to its size, is its bytes.
// Properties: no crash; what decodes re-encodes to bytes that decode to the same value; the
// reading chosen has the narrowest window and an offset that is PHC minus its midpoint.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/refclock/phc_offset.hpp"
#include "libtime/refclock/ts_info.hpp"

using namespace timepipe::refclock;

namespace {

std::vector<std::byte> sized(std::span<const std::byte> in, std::size_t size) {
    std::vector<std::byte> out(size);
    std::copy_n(in.begin(), std::min(size, in.size()), out.begin());
    return out;
}

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    auto bytes = std::as_bytes(std::span(data + 1, size - 1));
    switch (data[0] % 4) {
    case 0: {
        if (data[0] & 8) {  // struct hwtstamp_config
            auto config = decode_hwtstamp_config(sized(bytes, kHwtstampConfigSize));
            check(config.has_value());
            check(*decode_hwtstamp_config(encode_hwtstamp_config(*config)) == *config);
            tx_type_name(config->tx_type);
            rx_filter_name(config->rx_filter);
            return 0;
        }
        auto raw = sized(bytes, kTsInfoSize);
        // Make the cmd right half the time, so the fields are reached.
        if (data[0] & 4) std::copy_n(encode_ts_info(TsInfo{}).begin(), 4, raw.begin());
        auto info = decode_ts_info(raw);
        if (!info) return 0;
        auto again = decode_ts_info(encode_ts_info(*info));
        check(again && *again == *info);
        timestamping_names(info->so_timestamping);
        tx_type_names(info->tx_types);
        rx_filter_names(info->rx_filters);
        return 0;
    }
    default: {
        const PhcMethod m = data[0] % 4 == 1 ? PhcMethod::precise : data[0] % 4 == 2 ? PhcMethod::extended : PhcMethod::basic;
        const std::size_t want = m == PhcMethod::precise ? kPtpSysOffsetPreciseSize
                                 : m == PhcMethod::extended ? kPtpSysOffsetExtendedSize : kPtpSysOffsetSize;
        auto readings = decode_sys_offset(m, sized(bytes, want));
        if (!readings) return 0;
        auto again = decode_sys_offset(m, encode_sys_offset(m, *readings));
        check(again && *again == *readings);
        auto chosen = choose_reading(m, *readings);
        if (!chosen) return 0;
        for (const auto& r : *readings)
            check(static_cast<std::uint64_t>(chosen->delay_ns) <=
                  static_cast<std::uint64_t>(r.sys_after) - static_cast<std::uint64_t>(r.sys_before));
        return 0;
    }
    }
}
