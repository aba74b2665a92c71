// Roughtime on the shared load engine: each slot holds a request built once; every send
// rewrites the first 12 octets of its nonce in place; replies are matched by NONC. Then the
// inline and final verification (loadgen.hpp).
#include "bench/roughtime-loadgen/loadgen.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "libtime/base/log.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/message.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/roughtime/retry.hpp"
#include "libtime/roughtime/sample.hpp"
#include "libtime/roughtime/sequence.hpp"
#include "libtime/roughtime/version_set.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe::bench::rt {
namespace {

using roughtime::kMaxRequestSize;

constexpr std::size_t kSeqBytes = 8;   // nonce[0, 8): run-wide sequence number
constexpr std::size_t kSlotBytes = 4;  // nonce[8, 12): slot number

struct Request {
    std::array<std::byte, kMaxRequestSize> packet{};
    std::size_t length = 0;    // of the request in packet
    std::size_t nonce_at = 0;  // offset of NONC's value in packet

    std::span<const std::byte> bytes() const { return std::span<const std::byte>(packet).first(length); }
};

struct Stored {  // one exchange kept for the final verification pass
    std::vector<std::byte> request;
    std::vector<std::byte> response;
};

void put_le(std::span<std::byte> out, std::uint64_t v) {
    for (auto& b : out) {
        b = static_cast<std::byte>(v & 0xFF);
        v >>= 8;
    }
}
std::uint64_t get_le(std::span<const std::byte> in) {
    std::uint64_t v = 0;
    for (std::size_t i = in.size(); i-- > 0;)
        v = (v << 8) | std::to_integer<std::uint64_t>(in[i]);
    return v;
}

// xorshift64*: the sampling decisions need speed, not secrecy.
class Rng {
public:
    Rng() {
        std::array<std::byte, 8> seed{};
        crypto::random_bytes(seed);
        state_ = get_le(seed) | 1;
    }
    std::uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1DULL;
    }
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

private:
    std::uint64_t state_ = 1;
};

class RoughtimeLoad final : public LoadEngine {
public:
    RoughtimeLoad(const Config& cfg, std::vector<UdpSocket> sockets, std::vector<Request> requests, Stats& stats)
        : LoadEngine(cfg, cfg.server, std::move(sockets), stats), cfg_(cfg), stats_(stats),
          nonce_size_(roughtime::nonce_size(cfg.versions)), requests_(std::move(requests)) {
        sample_.reserve(cfg_.sample);
        next_verify_ = draw_gap();
    }

    // After the load: the stored sample verified, and timed (the client's cost per response).
    void verify_sample() {
        CpuTime c0 = process_cpu_time();
        std::int64_t t0 = monotonic_now();
        for (const Stored& x : sample_) {
            auto t = roughtime::verify_response(x.request, x.response, cfg_.server_key);
            if (t) {
                ++stats_.sample_verified;
            } else {
                ++stats_.sample_failed;
                note_failure(t.error());
            }
        }
        std::int64_t t1 = monotonic_now();
        CpuTime c1 = process_cpu_time();
        stats_.verify_s = static_cast<double>(t1 - t0) / 1e9;
        stats_.verify_cpu_s = (c1.user - c0.user) + (c1.sys - c0.sys);
    }

private:
    // A fresh nonce in slot i: a run-wide sequence number and the slot in its first 12 octets.
    std::span<const std::byte> refresh(std::uint32_t i) override {
        Request& r = requests_[i];
        auto nonce = std::span<std::byte>(r.packet).subspan(r.nonce_at, nonce_size_);
        put_le(nonce.first(kSeqBytes), ++sequence_);
        put_le(nonce.subspan(kSeqBytes, kSlotBytes), i);
        return r.bytes();
    }

    Match match(const RxSlot& rx) override {
        auto nonce = nonce_of(rx.data());
        if (nonce.empty())
            return {Match::Kind::Invalid, 0};
        auto i = static_cast<std::uint32_t>(get_le(nonce.subspan(kSeqBytes, kSlotBytes)));
        if (i >= requests_.size())
            return {Match::Kind::Late, 0};
        const Request& r = requests_[i];
        if (!std::equal(nonce.begin(), nonce.end(), r.packet.begin() + static_cast<std::ptrdiff_t>(r.nonce_at)))
            return {Match::Kind::Late, 0};
        return {Match::Kind::Answer, i};
    }

    // Inline verification of about every K-th valid reply, and the reservoir for the final pass.
    bool answered(std::uint32_t i, const RxSlot& rx) override {
        const Request& r = requests_[i];
        auto response = rx.data();
        ++valid_;
        if (cfg_.verify_every != 0 && --next_verify_ == 0) {
            next_verify_ = draw_gap();
            auto t = roughtime::verify_response(r.bytes(), response, cfg_.server_key);
            if (t) {
                ++stats_.verified;
            } else {
                ++stats_.failed;
                note_failure(t.error());
            }
        }
        if (cfg_.sample == 0)
            return true;
        // Reservoir sampling (Algorithm R): every valid reply equally likely to be kept.
        std::size_t at = sample_.size();
        if (sample_.size() < cfg_.sample) {
            sample_.emplace_back();
        } else {
            at = rng_.below(valid_);
            if (at >= sample_.size())
                return true;
        }
        auto req = r.bytes();
        sample_[at].request.assign(req.begin(), req.end());
        sample_[at].response.assign(response.begin(), response.end());
        return true;
    }

    // The NONC of a response, or empty when it does not parse or has none of the right size.
    std::span<const std::byte> nonce_of(std::span<const std::byte> data) const {
        std::span<const std::byte> body = data;
        if (roughtime::is_framed(data)) {
            auto b = roughtime::unframe(data);
            if (!b)
                return {};
            body = *b;
        }
        auto m = roughtime::parse_message(body);
        if (!m)
            return {};
        auto n = m->find(roughtime::tag::NONC);
        if (!n || n->size() != nonce_size_)
            return {};
        return *n;
    }

    unsigned draw_gap() {
        if (cfg_.verify_every <= 1)
            return 1;
        return static_cast<unsigned>(1 + rng_.below(2ULL * cfg_.verify_every - 1));
    }

    void note_failure(roughtime::VerifyError e) {
        if (stats_.first_failure.empty())
            stats_.first_failure = std::string(roughtime::failure_text(e));
    }

    const Config& cfg_;
    Stats& stats_;
    std::size_t nonce_size_;
    std::vector<Request> requests_;
    std::uint64_t sequence_ = 0;
    std::uint64_t valid_ = 0;
    unsigned next_verify_ = 1;
    Rng rng_;
    std::vector<Stored> sample_;
};

// One request per slot, built by libtime with a random nonce; finds where the nonce sits.
Result<std::vector<Request>> build_requests(const Config& cfg) {
    const std::size_t nonce_size = roughtime::nonce_size(cfg.versions);
    if (nonce_size < kSeqBytes + kSlotBytes + 16)
        return fail("nonce too short to number requests", EX_SOFTWARE);
    std::vector<Request> requests(cfg.concurrency);
    std::vector<std::byte> nonce(nonce_size);
    for (Request& r : requests) {
        crypto::random_bytes(nonce);
        auto n = roughtime::build_request({.versions = cfg.versions, .nonce = nonce, .server_key = cfg.server_key},
                                          r.packet);
        if (!n)
            return fail("cannot build a request: " + std::string(roughtime::to_string(n.error())), EX_USAGE);
        r.length = *n;
        auto end = r.packet.begin() + static_cast<std::ptrdiff_t>(r.length);
        auto it = std::search(r.packet.begin(), end, nonce.begin(), nonce.end());
        if (it == end)
            return fail("the nonce is not in the request built", EX_SOFTWARE);
        r.nonce_at = static_cast<std::size_t>(it - r.packet.begin());
    }
    return requests;
}

}  // namespace

Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop) {
    auto requests = build_requests(cfg);
    if (!requests)
        return Unexpected<Error>{requests.error()};
    std::vector<UdpSocket> socks;
    SocketOptions opts{.reuse_port = false, .rx_timestamps = false, .tx_timestamps = false, .pktinfo = false};
    for (unsigned i = 0; i < cfg.sockets; ++i) {
        auto s = UdpSocket::client(cfg.server.family(), opts);
        if (!s)
            return Unexpected<Error>{s.error()};
        // Connected: the kernel drops strangers' datagrams and reports ICMP errors to us.
        if (auto r = s->connect(cfg.server); !r)
            return Unexpected<Error>{r.error()};
        socks.push_back(std::move(*s));
    }
    Stats stats;
    RoughtimeLoad g(cfg, std::move(socks), std::move(*requests), stats);
    g.run(stop);
    g.verify_sample();
    return stats;
}

}  // namespace timepipe::bench::rt
