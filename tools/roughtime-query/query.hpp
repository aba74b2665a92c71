// The network side of roughtime-query: one verified exchange with one server (UDP or TCP, with
// retries and backoff), and the chained measurement sequence of RFC 10049 §8.2 over a list.
// Protocol decisions live in libtime/roughtime (client, chain, retry, sequence, sample).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/roughtime/chain.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/roughtime/retry.hpp"
#include "libtime/roughtime/sample.hpp"
#include "libtime/roughtime/sequence.hpp"
#include "libtime/roughtime/version_set.hpp"
#include "libtime/roughtime/server_list.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/resolve.hpp"

namespace roughtime_query {

using namespace timepipe;

// One server to ask.
struct Target {
    std::string name;  // for messages: "host:port" as given, or the list's name
    HostPort address;  // port always set
    roughtime::Transport transport = roughtime::Transport::udp;
    crypto::PublicKey key{};
    std::vector<roughtime::Version> versions;
};

struct QueryOptions {
    roughtime::RetryPlan retry;
    Family family = Family::any;
};

// A verified answer and what it took.
struct Answer {
    std::string source;  // "roughtime://127.0.0.1:2002"
    roughtime::VerifiedTime time;
    std::vector<std::byte> request;
    std::vector<std::byte> response;
    UnixNanos sent = 0;      // local clock as the request left (last try)
    UnixNanos received = 0;  // local clock (kernel stamp for UDP) as the answer arrived
};

// Every address of the target's name, in the resolver's order (numeric addresses need no
// lookup). Errors carry EX_NOHOST / EX_TEMPFAIL from the resolver.
Result<std::vector<SocketAddress>> resolve_target(const Target& t, Family family);

// Sends the request made with `nonce` to `peer` up to retry.tries() times and verifies the
// answer. A reply that does not verify ends that try (servers grease, RFC 10049 §7). When the
// first try meets silence and the request names the key in SRV, the same request without SRV
// is sent once: a server with another key drops the one but answers the other. If no try
// verified, the error is "answers do not verify with this public key: ..." for a DELE
// signature that fails, else the last verification failure (EX_PROTOCOL), else "no answer
// after N tries" (EX_UNAVAILABLE), or the local failure (EX_OSERR).
Result<Answer> query(const Target& t, const SocketAddress& peer, std::span<const std::byte> nonce,
                     const QueryOptions& options);

// query() at each address in turn until one answers (as ntp-query uses every address): a
// broken IPv6 address does not hide a working IPv4 one. A failed address is a -v line; the
// error is the first address's, naming how many were tried. EX_PROTOCOL ends the turn at once.
Result<Answer> query_any(const Target& t, std::span<const SocketAddress> peers, std::span<const std::byte> nonce,
                         const QueryOptions& options);

// The outcome of a measurement sequence.
struct Sequence {
    std::vector<std::size_t> order;                // indices into the targets, as queried
    std::vector<std::size_t> answered;             // per chain step: its index into `order`
    std::vector<Answer> answers;                   // per chain step
    std::vector<roughtime::ChainStep> steps;       // the chain, for a malfeasance report
    std::vector<roughtime::CausalityViolation> violations;  // indices into steps / answers
    int first_failure = 0;                         // exit code of the first failed query, 0 if none
};

// RFC 10049 §8.2: `pick` targets (0: all, at least 3) in random order, twice; each nonce
// chained to the previous verified answer; then the whole chain checked for causality
// violations. Nothing is written here: the caller writes the answers only once the chain is
// checked. Failures are reported on stderr (one line each) and skipped.
Result<Sequence> run_sequence(const std::vector<Target>& targets, std::size_t pick, const QueryOptions& options);

// The conflict record of one violation of `seq` (indices into seq.answers).
RoughtimeConflict conflict_record(const Sequence& seq, const roughtime::CausalityViolation& v);

}  // namespace roughtime_query
