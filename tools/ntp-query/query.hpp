// ntp-query's I/O: one UDP socket per source, the libuv loop, timeouts and polls. Protocol
// decisions are libtime's (ntp/client, ntp/poll, ntp/association, ntp/pool), and so are the
// socket (sys/udp_peer) and the names resolved in the loop (sys/name_resolver); this file
// wires them and keeps what ntp-query reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "libtime/ntp/client.hpp"
#include "libtime/nts/client_session.hpp"
#include "libtime/nts/ke_client.hpp"
#include "libtime/ntp/poll.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/stream/records.hpp"

namespace ntp_query {

struct QueryOptions {
    int count = 4;               // one-shot: exchanges per source; follow: records in all (0: no limit)
    bool follow = false;
    std::chrono::nanoseconds duration{0};  // -x: stop after this long (0: no limit)
    std::chrono::nanoseconds timeout = std::chrono::seconds(1);
    timepipe::ntp::PollConfig poll;
    timepipe::ntp::ClientConfig client;
    timepipe::Family family = timepipe::Family::any;
    std::size_t max_sources = 4;  // addresses used per server name
    // Each source's counters (sent, received, timeouts, kod, unsynchronised, bad, nts_nak) as a
    // stats record named after the source, whenever one changes (--status-socket).
    std::function<void(const timepipe::Stats&)> on_stats;
};

// An NTS association (--nts): where its keys come from, and the keys and cookies it has.
// Shared by the sources of one server (usually one: the NTP server the key exchange names).
struct NtsAssociation {
    timepipe::HostPort ke_server;           // the NTS-KE server as given
    timepipe::nts::KeClientOptions ke;
    std::optional<timepipe::nts::ClientSession> session;  // none until a key exchange works
    int key_exchanges = 0;
};

// A server as given on the command line.
struct Server {
    std::string name;         // "pool.ntp.org", "192.0.2.1:123": the subject of its messages
    timepipe::HostPort host;
    // Resolved before the run (one-shot; numeric hosts). Empty with --follow: resolved in the
    // loop, retried until it resolves, and again when one of its sources stops answering.
    std::vector<timepipe::SocketAddress> addresses;
    std::shared_ptr<NtsAssociation> nts;  // --nts; `host` is then the NTP server its KE named
};

// What became of one source.
struct SourceResult {
    timepipe::SocketAddress address;
    std::optional<timepipe::Sample> best;  // one-shot: the minimum-delay sample
    bool unsynchronised = false;  // `best` came from an unsynchronised server: show it, never use it
    int sent = 0;
    int samples = 0;
    std::string failure;  // why no time came from it ("no answer after 4 tries")
    int exit_code = 0;    // sysexits code for `failure`
};

// Runs the exchanges. `emit` gets every sample record in follow mode; in one-shot mode the
// results carry the best sample of each source. Returns once every source is done, the count
// or duration is reached, or SIGINT/SIGTERM arrives. A name that never resolved is a result
// without samples, with its failure.
std::vector<SourceResult> run_query(const std::vector<Server>& servers, const QueryOptions& options,
                                    const std::function<void(const timepipe::Sample&)>& emit);

// "ntp://127.0.0.1:123", "ntp://[::1]:123"
std::string source_name(const timepipe::SocketAddress& a);

}  // namespace ntp_query
