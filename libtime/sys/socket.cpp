#include "libtime/sys/socket.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>
#include <utility>

#include <linux/errqueue.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libtime/base/log.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/os_error.hpp"

namespace timepipe {
namespace {

// The CMSG_* macros are C and cast freely; they are wrapped here, once, so the rest of the file
// stays free of C casts. Data is copied out with memcpy: control buffers promise no alignment
// for the payload types.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wcast-align"
cmsghdr* cmsg_first(msghdr* m) { return CMSG_FIRSTHDR(m); }
cmsghdr* cmsg_next(msghdr* m, cmsghdr* c) { return CMSG_NXTHDR(m, c); }
unsigned char* cmsg_data(cmsghdr* c) { return CMSG_DATA(c); }
constexpr std::size_t cmsg_space(std::size_t n) { return CMSG_SPACE(n); }
constexpr std::size_t cmsg_len(std::size_t n) { return CMSG_LEN(n); }
#pragma GCC diagnostic pop

template <class T>
T cmsg_read(cmsghdr* c) {
    T v{};
    std::memcpy(&v, cmsg_data(c), std::min(sizeof v, c->cmsg_len - cmsg_len(0)));
    return v;
}

// mmsghdr arrays live on the stack, this many at a time: no allocation per packet.
constexpr std::size_t kChunk = 32;
constexpr std::size_t kControl = 256;  // timestamping (64) + pktinfo (40) + errqueue (≤ 96)

struct alignas(cmsghdr) ControlBuffer {
    std::array<std::byte, kControl> bytes;
};

// os_error, but a refused connection (an ICMP port unreachable) is the peer's doing.
Unexpected<Error> socket_error(const char* call, int err) {
    if (err == ECONNREFUSED) return fail("connection refused", EX_UNAVAILABLE);
    return os_error(call, err);
}

UnixNanos to_unix_nanos(const timespec& ts) {
    return static_cast<UnixNanos>(ts.tv_sec) * kNanosPerSecond + ts.tv_nsec;
}

int sockaddr_family(AddressFamily f) { return f == AddressFamily::v4 ? AF_INET : AF_INET6; }

Result<void> set_int_option(int fd, int level, int name, int value, const char* what) {
    int rc = setsockopt(fd, level, name, &value, sizeof value);
    if (rc < 0)
        return socket_error(what, errno);
    return {};
}

// Fills the control data of one datagram to send: an IP_PKTINFO / IPV6_PKTINFO so it leaves
// from `source` (when given, of the socket's family and not the wildcard), and a
// SO_TIMESTAMPING asking for its software transmit stamp (`stamp`), and its hardware one too
// (`hardware`). Nothing: no control data.
void put_control(msghdr& m, ControlBuffer& control, AddressFamily socket_family,
                 const std::optional<SocketAddress>* source, bool stamp, bool hardware) {
    // An IPv4 source on an IPv6 socket is a dual-stack socket's IPv4 peer: IP_PKTINFO works
    // there too (ip_cmsg_send). An IPv6 source on an IPv4 socket cannot be.
    bool with_source = source != nullptr && *source && !(*source)->is_unspecified() &&
                       ((*source)->family() == socket_family || (*source)->is_v4());
    if (!with_source && !stamp)
        return;
    m.msg_control = control.bytes.data();
    m.msg_controllen = control.bytes.size();
    cmsghdr* c = cmsg_first(&m);
    std::size_t used = 0;
    if (with_source && (*source)->is_v4()) {
        in_pktinfo pi{};
        std::memcpy(&pi.ipi_spec_dst, (*source)->bytes().data(), 4);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = cmsg_len(sizeof pi);
        std::memcpy(cmsg_data(c), &pi, sizeof pi);
        used += cmsg_space(sizeof pi);
    } else if (with_source) {
        in6_pktinfo pi{};
        std::memcpy(&pi.ipi6_addr, (*source)->bytes().data(), 16);
        pi.ipi6_ifindex = (*source)->scope_id();
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = cmsg_len(sizeof pi);
        std::memcpy(cmsg_data(c), &pi, sizeof pi);
        used += cmsg_space(sizeof pi);
    }
    if (stamp) {
        if (used != 0)
            c = cmsg_next(&m, c);  // after the pktinfo (msg_controllen is still the whole buffer)
        // Per message, only the "record" flags count; reporting (SOFTWARE, OPT_ID, TSONLY)
        // comes from the socket's own SO_TIMESTAMPING.
        std::uint32_t flags = SOF_TIMESTAMPING_TX_SOFTWARE;
        if (hardware)
            flags |= SOF_TIMESTAMPING_TX_HARDWARE;
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SO_TIMESTAMPING;
        c->cmsg_len = cmsg_len(sizeof flags);
        std::memcpy(cmsg_data(c), &flags, sizeof flags);
        used += cmsg_space(sizeof flags);
    }
    m.msg_controllen = used;
}

}  // namespace

namespace sys {

std::optional<SocketAddress> from_sockaddr(const ::sockaddr* sa, std::size_t length) {
    if (sa == nullptr || length < sizeof(sa_family_t))
        return std::nullopt;
    if (sa->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        sockaddr_in in{};
        std::memcpy(&in, sa, sizeof in);
        std::array<std::byte, 4> a{};
        std::memcpy(a.data(), &in.sin_addr, 4);
        return SocketAddress::v4(a, ntohs(in.sin_port));
    }
    if (sa->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        sockaddr_in6 in6{};
        std::memcpy(&in6, sa, sizeof in6);
        std::array<std::byte, 16> a{};
        std::memcpy(a.data(), &in6.sin6_addr, 16);
        return SocketAddress::v6(a, ntohs(in6.sin6_port), in6.sin6_scope_id);
    }
    return std::nullopt;
}

std::size_t to_sockaddr(const SocketAddress& addr, ::sockaddr_storage& out) {
    out = {};
    if (addr.is_v4()) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(addr.port());
        std::memcpy(&in.sin_addr, addr.bytes().data(), 4);
        std::memcpy(&out, &in, sizeof in);
        return sizeof in;
    }
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(addr.port());
    in6.sin6_scope_id = addr.scope_id();
    std::memcpy(&in6.sin6_addr, addr.bytes().data(), 16);
    std::memcpy(&out, &in6, sizeof in6);
    return sizeof in6;
}

Result<std::optional<SocketAddress>> local_address(int fd) {
    sockaddr_storage ss{};
    socklen_t got = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &got) < 0)
        return socket_error("getsockname", errno);
    return from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), got);
}

}  // namespace sys

Result<UdpSocket> UdpSocket::bind(const SocketAddress& local, const SocketOptions& options) {
    int fd = ::socket(sockaddr_family(local.family()), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      IPPROTO_UDP);
    if (fd < 0)
        return socket_error("socket", errno);
    UdpSocket s(fd, local.family());  // owns fd from here on
    s.wildcard_ = local.is_unspecified();
    auto configured = s.configure(options);
    if (!configured)
        return Unexpected<Error>{configured.error()};
    sockaddr_storage ss{};
    std::size_t len = sys::to_sockaddr(local, ss);
    int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&ss), static_cast<socklen_t>(len));
    if (rc < 0) {
        int err = errno;
        if (err == EACCES && local.port() != 0 && local.port() < 1024)
            return fail("bind: " + std::string(std::strerror(err)) +
                            " (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
                        EX_NOPERM);
        return socket_error("bind", err);
    }
    auto bound = sys::local_address(fd);
    if (!bound)
        return Unexpected<Error>{bound.error()};
    s.local_ = bound->value_or(local);
    return s;
}

Result<UdpSocket> UdpSocket::client(AddressFamily family, const SocketOptions& options) {
    return bind(SocketAddress::any(family, 0), options);
}

UdpSocket::UdpSocket(UdpSocket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      family_(other.family_),
      local_(other.local_),
      rx_ts_(other.rx_ts_),
      tx_ts_(other.tx_ts_),
      tx_on_request_(other.tx_on_request_),
      hw_ts_(other.hw_ts_),
      pktinfo_(other.pktinfo_),
      local_known_(other.local_known_),
      wildcard_(other.wildcard_),
      next_tx_id_(other.next_tx_id_) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& other) noexcept {
    if (this != &other) {
        UdpSocket old(std::move(*this));  // closes our fd on scope exit
        fd_ = std::exchange(other.fd_, -1);
        family_ = other.family_;
        local_ = other.local_;
        rx_ts_ = other.rx_ts_;
        tx_ts_ = other.tx_ts_;
        tx_on_request_ = other.tx_on_request_;
        hw_ts_ = other.hw_ts_;
        pktinfo_ = other.pktinfo_;
        local_known_ = other.local_known_;
        wildcard_ = other.wildcard_;
        next_tx_id_ = other.next_tx_id_;
    }
    return *this;
}

UdpSocket::~UdpSocket() {
    if (fd_ >= 0)
        ::close(fd_);  // nothing useful to do on failure: a UDP close loses no data
}

Result<void> UdpSocket::configure(const SocketOptions& options) {
    if (family_ == AddressFamily::v6) {
        // V6ONLY (by default) so "::" and "0.0.0.0" can be bound side by side, and no peer ever
        // shows up as a mapped address on one socket and a plain one on the other.
        auto r = set_int_option(fd_, IPPROTO_IPV6, IPV6_V6ONLY, options.v6_only ? 1 : 0, "IPV6_V6ONLY");
        if (!r)
            return r;
    }
    if (options.reuse_port) {
        auto r = set_int_option(fd_, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
        if (!r)
            return r;
    }
    if (options.receive_buffer > 0) {
        auto r = set_int_option(fd_, SOL_SOCKET, SO_RCVBUF, options.receive_buffer, "SO_RCVBUF");
        if (!r)
            return r;
    }
    // On a socket bound to one address every datagram was sent to that address: no cmsg needed
    // to learn it (IP_PKTINFO costs a cmsg per datagram received and per reply sent).
    local_known_ = options.pktinfo && !wildcard_;
    if (options.pktinfo && wildcard_) {
        auto r = family_ == AddressFamily::v4
                     ? set_int_option(fd_, IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO")
                     : set_int_option(fd_, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
        if (!r)
            return r;
        pktinfo_ = true;
    }
    // SO_TIMESTAMPING rather than SO_TIMESTAMPNS: the same software receive stamp, plus
    // transmit stamps through the same cmsg, and room for hardware stamps later.
    unsigned flags = 0;
    if (options.rx_timestamps)
        flags |= SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
    if (options.tx_timestamps) {
        // On request: the socket only reports; each datagram asks with its own cmsg.
        flags |= SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
        if (!options.tx_timestamps_on_request)
            flags |= SOF_TIMESTAMPING_TX_SOFTWARE;
    }
    if (options.hardware_timestamps && flags != 0) {
        flags |= SOF_TIMESTAMPING_RAW_HARDWARE;
        if (options.rx_timestamps)
            flags |= SOF_TIMESTAMPING_RX_HARDWARE;
        if (options.tx_timestamps) {
            // Without OPT_TX_SWHW a datagram the NIC stamps gets no software stamp.
            flags |= SOF_TIMESTAMPING_OPT_TX_SWHW;
            if (!options.tx_timestamps_on_request)
                flags |= SOF_TIMESTAMPING_TX_HARDWARE;
        }
    }
    if (flags == 0)
        return {};
    int rc = setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
    if (rc == 0) {
        hw_ts_ = options.hardware_timestamps;
        rx_ts_ = options.rx_timestamps ? RxTimestamping::timestamping : RxTimestamping::none;
        tx_ts_ = options.tx_timestamps;
        tx_on_request_ = options.tx_timestamps && options.tx_timestamps_on_request;
        return {};
    }
    log::debug("SO_TIMESTAMPING refused (%s), trying SO_TIMESTAMPNS", std::strerror(errno));
    if (!options.rx_timestamps)
        return {};
    int on = 1;
    rc = setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (rc == 0)
        rx_ts_ = RxTimestamping::timestampns;
    else
        log::debug("SO_TIMESTAMPNS refused (%s), using clock reads", std::strerror(errno));
    return {};  // without kernel stamps RxSlot::kernel_time says so; not an error
}

Result<void> UdpSocket::steer_by_source_address(unsigned group_size) {
    if (group_size == 0)
        return fail("steer_by_source_address: empty group", EX_SOFTWARE);
    // The datagram's network header is at SKF_NET_OFF whatever the filter's data pointer.
    constexpr std::uint32_t net = static_cast<std::uint32_t>(SKF_NET_OFF);
    auto op = [](std::uint16_t code, std::uint32_t k, std::uint8_t jt = 0, std::uint8_t jf = 0) {
        return sock_filter{code, jt, jf, k};
    };
    std::array<sock_filter, 11> prog{
        op(BPF_LD | BPF_B | BPF_ABS, net + 0),   // version << 4 | IHL (or traffic class)
        op(BPF_ALU | BPF_RSH | BPF_K, 4),
        op(BPF_JMP | BPF_JEQ | BPF_K, 4, 0, 2),  // IPv4: next; IPv6: skip 2
        op(BPF_LD | BPF_W | BPF_ABS, net + 12),  // IPv4 source address
        op(BPF_JMP | BPF_JA | BPF_K, 3),
        op(BPF_LD | BPF_W | BPF_ABS, net + 8),   // IPv6 source, first half (the /64)
        op(BPF_MISC | BPF_TAX, 0),
        op(BPF_LD | BPF_W | BPF_ABS, net + 12),
        op(BPF_ALU | BPF_XOR | BPF_X, 0),
        op(BPF_ALU | BPF_MOD | BPF_K, group_size),
        op(BPF_RET | BPF_A, 0),
    };
    sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
    if (::setsockopt(fd_, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fprog, sizeof fprog) < 0)
        return socket_error("SO_ATTACH_REUSEPORT_CBPF", errno);
    return {};
}

Result<int> UdpSocket::receive_buffer_size() const {
    int size = 0;
    socklen_t len = sizeof size;
    if (::getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, &len) < 0)
        return socket_error("SO_RCVBUF", errno);
    return size;
}

Result<std::uint64_t> UdpSocket::receive_drops() const {
    std::array<std::uint32_t, SK_MEMINFO_VARS> info{};
    socklen_t len = sizeof info;
    if (::getsockopt(fd_, SOL_SOCKET, SO_MEMINFO, info.data(), &len) < 0)
        return socket_error("SO_MEMINFO", errno);
    if (len < (SK_MEMINFO_DROPS + 1) * sizeof info[0])
        return fail("SO_MEMINFO: no drop count from this kernel", EX_UNAVAILABLE);
    return info[SK_MEMINFO_DROPS];
}

Result<void> UdpSocket::connect(const SocketAddress& peer) {
    sockaddr_storage ss{};
    std::size_t len = sys::to_sockaddr(peer, ss);
    int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&ss), static_cast<socklen_t>(len));
    if (rc < 0)
        return socket_error("connect", errno);
    auto source = sys::local_address(fd_);
    if (!source)
        return Unexpected<Error>{source.error()};
    if (*source)
        local_ = **source;
    return {};
}

Result<std::size_t> UdpSocket::receive_batch(std::span<RxSlot> slots) {
    std::size_t total = 0;
    while (total < slots.size()) {
        std::size_t n = std::min(kChunk, slots.size() - total);
        std::array<mmsghdr, kChunk> msgs{};
        std::array<iovec, kChunk> iov{};
        std::array<sockaddr_storage, kChunk> names{};
        std::array<ControlBuffer, kChunk> control;
        for (std::size_t i = 0; i < n; ++i) {
            RxSlot& s = slots[total + i];
            iov[i] = {s.buffer.data(), s.buffer.size()};
            msghdr& m = msgs[i].msg_hdr;
            m.msg_name = &names[i];
            m.msg_namelen = sizeof names[i];
            m.msg_iov = &iov[i];
            m.msg_iovlen = 1;
            m.msg_control = control[i].bytes.data();
            m.msg_controllen = control[i].bytes.size();
        }
        int got = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT, nullptr);
        if (got < 0) {
            int err = errno;
            if (is_again(err) || err == EINTR || total > 0)
                break;  // an error after some datagrams shows up again on the next call
            return socket_error("recvmmsg", err);
        }
        // One clock read for the whole batch, used where the kernel gave no stamp.
        UnixNanos fallback = wall_clock_now();
        for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
            RxSlot& s = slots[total + i];
            msghdr& m = msgs[i].msg_hdr;
            s.length = std::min<std::size_t>(msgs[i].msg_len, s.buffer.size());
            s.truncated = (m.msg_flags & MSG_TRUNC) != 0;
            s.peer = sys::from_sockaddr(reinterpret_cast<const sockaddr*>(&names[i]),
                                        m.msg_namelen)
                         .value_or(SocketAddress{});
            if (local_known_)
                s.local = local_;
            else
                s.local.reset();
            s.ifindex = 0;
            s.rx_time = fallback;
            s.kernel_time = false;
            s.hw_rx_time = 0;
            for (cmsghdr* c = cmsg_first(&m); c != nullptr; c = cmsg_next(&m, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
                    auto ts = cmsg_read<scm_timestamping>(c);
                    if (ts.ts[0].tv_sec != 0 || ts.ts[0].tv_nsec != 0) {  // [0] = software
                        s.rx_time = to_unix_nanos(ts.ts[0]);
                        s.kernel_time = true;
                    }
                    if (ts.ts[2].tv_sec != 0 || ts.ts[2].tv_nsec != 0)  // [2] = raw hardware
                        s.hw_rx_time = to_unix_nanos(ts.ts[2]);
                } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
                    s.rx_time = to_unix_nanos(cmsg_read<timespec>(c));
                    s.kernel_time = true;
                } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                    auto pi = cmsg_read<in_pktinfo>(c);
                    std::array<std::byte, 4> a{};
                    std::memcpy(a.data(), &pi.ipi_addr, 4);  // header destination
                    s.local = SocketAddress::v4(a, local_.port());
                    s.ifindex = static_cast<std::uint32_t>(pi.ipi_ifindex);
                } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                    auto pi = cmsg_read<in6_pktinfo>(c);
                    std::array<std::byte, 16> a{};
                    std::memcpy(a.data(), &pi.ipi6_addr, 16);
                    bool link_local = a[0] == std::byte{0xfe} &&
                                      (a[1] & std::byte{0xc0}) == std::byte{0x80};
                    s.ifindex = pi.ipi6_ifindex;
                    s.local = SocketAddress::v6(a, local_.port(), link_local ? s.ifindex : 0);
                }
            }
        }
        total += static_cast<std::size_t>(got);
        if (static_cast<std::size_t>(got) < n)
            break;  // the queue is empty
    }
    return total;
}

Result<bool> UdpSocket::receive(RxSlot& slot) {
    auto n = receive_batch(std::span<RxSlot>(&slot, 1));
    if (!n)
        return Unexpected<Error>{n.error()};
    return *n == 1;
}

Result<std::size_t> UdpSocket::send_batch(std::span<const TxSlot> slots) {
    std::size_t total = 0;
    while (total < slots.size()) {
        std::size_t n = std::min(kChunk, slots.size() - total);
        std::array<mmsghdr, kChunk> msgs{};
        std::array<iovec, kChunk> iov{};
        std::array<sockaddr_storage, kChunk> names{};
        std::array<ControlBuffer, kChunk> control;
        for (std::size_t i = 0; i < n; ++i) {
            const TxSlot& s = slots[total + i];
            // iovec is shared by send and receive, hence not const; sendmmsg does not write.
            iov[i] = {const_cast<std::byte*>(s.data.data()), s.data.size()};
            msghdr& m = msgs[i].msg_hdr;
            m.msg_name = &names[i];
            m.msg_namelen = static_cast<socklen_t>(sys::to_sockaddr(s.peer, names[i]));
            m.msg_iov = &iov[i];
            m.msg_iovlen = 1;
            put_control(m, control[i], family_, wildcard_ ? &s.source : nullptr,
                        tx_on_request_ && s.want_tx_timestamp, hw_ts_);
        }
        int sent = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), 0);
        if (sent < 0) {
            int err = errno;
            if (is_again(err) || err == EINTR || total > 0)
                break;
            return socket_error("sendmmsg", err);
        }
        if (tx_on_request_) {  // one OPT_ID per stamped datagram
            for (std::size_t i = 0; i < static_cast<std::size_t>(sent); ++i)
                next_tx_id_ += slots[total + i].want_tx_timestamp ? 1 : 0;
        } else if (tx_ts_) {
            next_tx_id_ += static_cast<std::uint32_t>(sent);
        }
        total += static_cast<std::size_t>(sent);
        if (static_cast<std::size_t>(sent) < n)
            break;
    }
    return total;
}

Result<void> UdpSocket::send_to(std::span<const std::byte> data, const SocketAddress& peer,
                                const std::optional<SocketAddress>& source) {
    TxSlot slot{data, peer, source};
    auto sent = send_batch(std::span<const TxSlot>(&slot, 1));
    if (!sent)
        return Unexpected<Error>{sent.error()};
    if (*sent == 0)
        return fail("sendmmsg: " + std::string(std::strerror(EAGAIN)), EX_TEMPFAIL);
    return {};
}

Result<std::size_t> UdpSocket::read_tx_timestamps(std::span<TxTimestamp> slots) {
    std::size_t out = 0;
    while (out < slots.size()) {
        std::size_t n = std::min(kChunk, slots.size() - out);
        std::array<mmsghdr, kChunk> msgs{};
        std::array<iovec, kChunk> iov{};
        std::array<std::array<std::byte, 64>, kChunk> payload;  // OPT_TSONLY: normally empty
        std::array<ControlBuffer, kChunk> control;
        for (std::size_t i = 0; i < n; ++i) {
            iov[i] = {payload[i].data(), payload[i].size()};
            msghdr& m = msgs[i].msg_hdr;
            m.msg_iov = &iov[i];
            m.msg_iovlen = 1;
            m.msg_control = control[i].bytes.data();
            m.msg_controllen = control[i].bytes.size();
        }
        int got = ::recvmmsg(fd_, msgs.data(), static_cast<unsigned>(n),
                             MSG_ERRQUEUE | MSG_DONTWAIT, nullptr);
        if (got < 0) {
            int err = errno;
            if (is_again(err) || err == EINTR || out > 0)
                break;
            return socket_error("recvmmsg(MSG_ERRQUEUE)", err);
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(got); ++i) {
            msghdr& m = msgs[i].msg_hdr;
            std::optional<UnixNanos> when;
            std::optional<UnixNanos> hw_when;
            std::optional<std::uint32_t> id;
            for (cmsghdr* c = cmsg_first(&m); c != nullptr; c = cmsg_next(&m, c)) {
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPING) {
                    auto ts = cmsg_read<scm_timestamping>(c);
                    if (ts.ts[0].tv_sec != 0 || ts.ts[0].tv_nsec != 0)
                        when = to_unix_nanos(ts.ts[0]);
                    if (hw_ts_ && (ts.ts[2].tv_sec != 0 || ts.ts[2].tv_nsec != 0))
                        hw_when = to_unix_nanos(ts.ts[2]);
                } else if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                           (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
                    auto ee = cmsg_read<sock_extended_err>(c);
                    // Anything else on the error queue (ICMP errors) is not a timestamp.
                    if (ee.ee_errno == ENOMSG && ee.ee_origin == SO_EE_ORIGIN_TIMESTAMPING &&
                        ee.ee_info == SCM_TSTAMP_SND)
                        id = ee.ee_data;
                }
            }
            if ((when || hw_when) && id)
                slots[out++] = TxTimestamp{*id, when.value_or(0), hw_when.value_or(0)};
        }
        if (static_cast<std::size_t>(got) < n)
            break;
    }
    return out;
}

std::optional<std::string> ipv6_unavailable() {
    int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd < 0) {
        int err = errno;
        if (err == EAFNOSUPPORT || err == EPROTONOSUPPORT)
            return std::string(std::strerror(err));
        return std::nullopt;  // another reason (EMFILE…): binding will say it better
    }
    ::close(fd);
    return std::nullopt;
}

Result<bool> wait_readable(int fd, std::chrono::nanoseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    timespec ts{};
    timespec* tsp = nullptr;  // negative timeout: wait for ever
    if (timeout.count() >= 0) {
        ts.tv_sec = static_cast<time_t>(timeout.count() / kNanosPerSecond);
        ts.tv_nsec = static_cast<long>(timeout.count() % kNanosPerSecond);
        tsp = &ts;
    }
    int rc = ::ppoll(&p, 1, tsp, nullptr);  // ppoll for nanoseconds; poll(2) has only ms
    if (rc < 0) {
        int err = errno;
        if (err == EINTR)
            return false;
        return socket_error("ppoll", err);
    }
    return rc > 0 && (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
}

Result<std::size_t> wait_any(std::span<PollItem> items, std::chrono::nanoseconds timeout) {
    constexpr std::size_t kMax = 64;
    if (items.size() > kMax)
        return fail("wait_any: too many descriptors", EX_SOFTWARE);
    std::array<pollfd, kMax> p{};
    for (std::size_t i = 0; i < items.size(); ++i)
        p[i] = pollfd{items[i].fd, POLLIN, 0};
    timespec ts{};
    timespec* tsp = nullptr;
    if (timeout.count() >= 0) {
        ts.tv_sec = static_cast<time_t>(timeout.count() / kNanosPerSecond);
        ts.tv_nsec = static_cast<long>(timeout.count() % kNanosPerSecond);
        tsp = &ts;
    }
    int rc = ::ppoll(p.data(), static_cast<nfds_t>(items.size()), tsp, nullptr);
    if (rc < 0) {
        int err = errno;
        if (err != EINTR)
            return socket_error("ppoll", err);
        rc = 0;
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
        items[i].readable = rc > 0 && (p[i].revents & (POLLIN | POLLHUP)) != 0;
        items[i].error = rc > 0 && (p[i].revents & POLLERR) != 0;
    }
    return static_cast<std::size_t>(rc);
}

}  // namespace timepipe
