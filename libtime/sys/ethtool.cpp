#include "libtime/sys/ethtool.hpp"

#include <cerrno>
#include <cstring>
#include <string>

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace timepipe::sys {
namespace {

// The offsets libtime/refclock/ts_info.cpp reads.
static_assert(sizeof(ethtool_ts_info) == 44);
static_assert(offsetof(ethtool_ts_info, so_timestamping) == 4);
static_assert(offsetof(ethtool_ts_info, phc_index) == 8);
static_assert(offsetof(ethtool_ts_info, tx_types) == 12);
static_assert(offsetof(ethtool_ts_info, rx_filters) == 28);

struct Fd {
    int fd;
    ~Fd() { if (fd >= 0) ::close(fd); }
};

}  // namespace

Result<std::vector<std::byte>> read_ts_info(std::string_view interface) {
    if (interface.empty() || interface.size() >= IFNAMSIZ)
        return fail("interface name must be 1-" + std::to_string(IFNAMSIZ - 1) + " characters", EX_USAGE);
    Fd s{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
    if (s.fd < 0) s.fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s.fd < 0) return fail(std::string("socket: ") + std::strerror(errno), EX_OSERR);
    ethtool_ts_info info{};
    info.cmd = ETHTOOL_GET_TS_INFO;
    ifreq ifr{};
    std::memcpy(ifr.ifr_name, interface.data(), interface.size());
    ifr.ifr_data = reinterpret_cast<char*>(&info);
    if (::ioctl(s.fd, SIOCETHTOOL, &ifr) != 0) {
        int err = errno;
        std::string why = std::string("SIOCETHTOOL ETHTOOL_GET_TS_INFO: ") + std::strerror(err);
        if (err == ENODEV) return fail("no such interface", EX_NOINPUT);
        if (err == EOPNOTSUPP) return fail(why, EX_UNAVAILABLE);
        return fail(why, (err == EPERM || err == EACCES) ? EX_NOPERM : EX_OSERR);
    }
    std::vector<std::byte> out(sizeof info);
    std::memcpy(out.data(), &info, sizeof info);
    return out;
}

}  // namespace timepipe::sys
