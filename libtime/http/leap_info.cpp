#include "libtime/http/leap_info.hpp"

namespace timepipe::http {

LeapInfo leap_info(const discipline::LeapTable& table, UnixNanos now) {
    if (table.entries.size() < 2 || discipline::leap_file_expired(table, now)) return {};
    const std::int64_t now_ntp = now / kNanosPerSecond + discipline::kNtpToUnixSeconds;
    std::size_t i = 1;  // the first entry is the start of the table (TAI-UTC 10 in 1972), no leap
    while (i + 1 < table.entries.size() && table.entries[i].ntp_seconds <= now_ntp) ++i;
    const auto& at = table.entries[i];
    const auto& before = table.entries[i - 1];
    return LeapInfo{before.tai_offset, (at.ntp_seconds - discipline::kNtpToUnixSeconds) * kNanosPerSecond,
                    at.tai_offset - before.tai_offset};
}

}  // namespace timepipe::http
