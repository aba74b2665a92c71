#include "libtime/sys/ethtool.hpp"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include <linux/ethtool.h>
#include <linux/net_tstamp.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libtime/sys/unique_fd.hpp"

namespace timepipe::sys {
namespace {

// The offsets libtime/refclock/ts_info.cpp reads.
static_assert(sizeof(ethtool_ts_info) == 44);
static_assert(offsetof(ethtool_ts_info, so_timestamping) == 4);
static_assert(offsetof(ethtool_ts_info, phc_index) == 8);
static_assert(offsetof(ethtool_ts_info, tx_types) == 12);
static_assert(offsetof(ethtool_ts_info, rx_filters) == 28);

static_assert(sizeof(hwtstamp_config) == 12);

// An ioctl on an interface, its argument `data` (what ifr_data points to) filled by the kernel.
Result<void> interface_ioctl(std::string_view interface, unsigned long request, const char* what, void* data) {
    if (interface.empty() || interface.size() >= IFNAMSIZ)
        return fail("interface name must be 1-" + std::to_string(IFNAMSIZ - 1) + " characters", EX_USAGE);
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) s.reset(::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s.valid()) return fail(std::string("socket: ") + std::strerror(errno), EX_OSERR);
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, interface.data(), interface.size());
    ifr.ifr_data = static_cast<char*>(data);
    if (::ioctl(s.get(), request, &ifr) != 0) {
        int err = errno;
        std::string why = std::string(what) + ": " + std::strerror(err);
        if (err == ENODEV) return fail("no such interface", EX_NOINPUT);
        if (err == EOPNOTSUPP || err == ENOTTY || err == EINVAL) return fail(why, EX_UNAVAILABLE);
        return fail(why, (err == EPERM || err == EACCES) ? EX_NOPERM : EX_OSERR);
    }
    return {};
}

}  // namespace

Result<std::vector<std::byte>> read_ts_info(std::string_view interface) {
    ethtool_ts_info info{};
    info.cmd = ETHTOOL_GET_TS_INFO;
    auto ok = interface_ioctl(interface, SIOCETHTOOL, "SIOCETHTOOL ETHTOOL_GET_TS_INFO", &info);
    if (!ok) return Unexpected<Error>{ok.error()};
    std::vector<std::byte> out(sizeof info);
    std::memcpy(out.data(), &info, sizeof info);
    return out;
}

Result<std::vector<std::byte>> read_hwtstamp_config(std::string_view interface) {
    hwtstamp_config config{};
    auto ok = interface_ioctl(interface, SIOCGHWTSTAMP, "SIOCGHWTSTAMP", &config);
    if (!ok) return Unexpected<Error>{ok.error()};
    std::vector<std::byte> out(sizeof config);
    std::memcpy(out.data(), &config, sizeof config);
    return out;
}

}  // namespace timepipe::sys
