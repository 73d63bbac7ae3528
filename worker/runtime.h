#pragma once
// What one worker process shares between its sessions: the config generation it serves, its
// providers, the upstream pool, the JSON parser and the drain state. Single-threaded: one
// io_context, no locks; everything here is touched only from that thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/intrusive/list.hpp>

#include "shared/config/config.h"
#include "worker/body.h"
#include "worker/filters/auth.h"
#include "worker/record.h"

// Kept out of this widely included header: the pool pulls in Beast's SSL stream and OpenSSL.
namespace ccr::worker::upstream {
class Pool;
class ClientWatches;
}
namespace ccr::shared::stats {
class Segment;
}
namespace boost::asio::ssl {
class context;
}

namespace ccr::worker {

class ClientStream;
class DeadlineStream;

class Provider;
class SharedState;
class StatsSink;
namespace routing {
class Router;
class RoutingState;
}

struct Runtime {
    /// `segment` (may be null: state local to this process) and `slot` locate the shared state.
    Runtime(boost::asio::io_context& ioc,
            std::shared_ptr<const shared::Config> cfg,
            shared::stats::Segment* segment = nullptr,
            int slot = 0);
    ~Runtime();

    boost::asio::io_context& ioc;
    std::shared_ptr<const shared::Config> config;
    std::vector<std::unique_ptr<Provider>> providers;  // enabled ones, in config order
    std::unique_ptr<SharedState> shared;      // breakers, key pools, turns: service-wide
    std::unique_ptr<routing::Router> router;  // built once per generation
    ClientKeys client_keys;                   // clients[].key, for the auth filter
    std::unique_ptr<upstream::Pool> pool;
    std::unique_ptr<upstream::ClientWatches> watches;  // relayed requests' clients, watched for a hang-up
    std::unique_ptr<JsonParser, JsonParserDeleter> json;
    std::unique_ptr<boost::asio::ssl::context> tls;  // server.tls's context, when this worker serves it
    StatsSink* stats = nullptr;  // null: counting off
    int slot = 0;                // worker slot (process index), for logs and stats

    // Drain: stop accepting, answer each connection's next request with Connection: close.
    bool draining = false;
    // The drain is a stop (SIGTERM/SIGINT): nothing serves afterwards, so a connection with no
    // request in flight closes at once. A reload's drain (kRetireSignal) leaves idle connections
    // to their idle timeout, since closing one races with a request the client may be sending.
    bool stopping = false;
    std::chrono::steady_clock::time_point drain_deadline;
    std::size_t sessions = 0;     // open client connections
    std::size_t in_flight = 0;    // requests being served
    int workers = 1;              // workers in this generation (divides server.max_concurrent)
    std::vector<std::uint64_t> client_allowed;  // allowed_providers() by client index
    std::vector<bool> debug_clients;    // logging.debug_for.clients, by client index
    std::vector<bool> debug_providers;  // logging.debug_for.providers, by provider index

    // Open client connections, so a drain can close what is left when its window ends.
    struct OpenStream {
        ClientStream* stream;
        bool busy;            // a request is being served
        bool evicted = false;  // closed for a newcomer at the connection cap; ends shortly
        bool carrier = false;  // HTTP/2: carries other sessions' answers (closed last in a drain)
    };
    using StreamList = std::list<OpenStream>;
    StreamList streams;
    StreamList::iterator register_stream(ClientStream& s) {
        return streams.insert(streams.end(), OpenStream{&s, false});
    }
    void unregister_stream(StreamList::iterator it) { streams.erase(it); }
    void mark_busy(StreamList::iterator it, bool busy) { it->busy = busy; }
    /// At server.max_connections: closes the oldest connection with no request in progress
    /// (idle between requests, or still without a complete head) so a newcomer can be served.
    /// False when every connection is serving a request.
    bool evict_idle_connection();
    /// Connections open and not yet closed for a newcomer.
    std::size_t live_sessions() const { return sessions - evicting; }
    std::size_t evicting = 0;  // evicted sessions whose coroutine has not ended yet

    // Responses being relayed (past the upstream's head), so the end of a drain window can end
    // each one with a terminal event instead of a bare cut. Each entry lives in the relaying
    // coroutine's frame and is listed while it exists: no allocation per request.
    struct ActiveRelay {
        ActiveRelay(Runtime& rt, ClientStream& c, DeadlineStream& up) : client(&c), upstream(&up) {
            rt.relays.push_back(*this);
        }
        ActiveRelay(const ActiveRelay&) = delete;
        ActiveRelay& operator=(const ActiveRelay&) = delete;
        ClientStream* client;
        DeadlineStream* upstream;
        bool cut = false;  // set at the end of the drain window; the upstream read is cancelled
        boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> hook;
    };
    using RelayList = boost::intrusive::list<
        ActiveRelay,
        boost::intrusive::member_hook<ActiveRelay, decltype(ActiveRelay::hook), &ActiveRelay::hook>,
        boost::intrusive::constant_time_size<false>>;
    RelayList relays;
    /// Time a cut relay has to write its terminal event before its connection is closed anyway.
    static constexpr std::chrono::milliseconds kCutGrace{1000};

    /// Called when a session ends: stops the worker once a drain has nothing left to wait for.
    void maybe_finish_drain();
    /// Starts draining: the acceptors stop; the io_context ends when the last connection closes
    /// or at the deadline, when relays are cut (see end_drain_window). `stop`: close the idle
    /// connections now (a stop); else leave them to their idle timeout (a reload). A stop that
    /// arrives during a reload's drain closes the idle connections and keeps the earlier deadline.
    void start_drain(std::chrono::milliseconds window, bool stop);
    /// The window is over: relays get their terminal event (kCutGrace to write it), every other
    /// connection closes now; the io_context ends when the last one is gone or the grace is over.
    void end_drain_window();
    std::function<void()> on_drain_start;  // closes the acceptors

    const Provider* find_provider(std::string_view name) const;
    /// The providers a client may use (routing::RouteQuery::allowed: bit i for providers[i]);
    /// every provider for -1 (no client) and for a client without allowed_providers.
    std::uint64_t allowed_providers(int client) const;
    std::chrono::milliseconds timeout() const {
        return std::chrono::milliseconds(config->server.timeout_ms);
    }
};

/// Hook for counters and the worker's row of the worker table (the shared-memory segment
/// implements it); called on the worker thread.
class StatsSink {
public:
    virtual ~StatsSink() = default;
    /// A finished request, as its record says (provider indices into Runtime::providers).
    using Sample = RequestRecord;
    /// How an upstream attempt ended (shared/stats/counters.h's attempt outcomes).
    enum class AttemptEnd { status_2xx, status_4xx, status_5xx, connect, timeout, reset };
    /// An attempt at providers[provider] begins (its in-flight count).
    virtual void attempt_started(int provider) = 0;
    /// It ended; `failed_over`: the relay moved on to the next candidate after it.
    virtual void attempt_finished(int provider, AttemptEnd end, bool failed_over) = 0;
    /// A request ended: counted under the provider whose answer the client got
    /// (Sample::answered_by), or as the relay's own answer. Also records that the worker has
    /// answered a request (the table's `served`).
    virtual void request_finished(const Sample& s) = 0;
    /// The worker's own row: listening, alive (about once a second until it exits), draining.
    virtual void worker_ready() {}
    virtual void worker_heartbeat() {}
    virtual void worker_draining() {}
};

}  // namespace ccr::worker
