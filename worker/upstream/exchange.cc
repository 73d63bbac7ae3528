#include "worker/upstream/exchange.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <spdlog/spdlog.h>

#include "worker/client_stream.h"
#include "worker/providers/provider.h"
#include "worker/request.h"
#include "worker/runtime.h"
#include "worker/session.h"
#include "worker/simple_head.h"
#include "worker/limits/rate_limit_headers.h"
#include "worker/shared_state.h"
#include "worker/short_read.h"
#include "worker/thinking.h"
#include "worker/transfer.h"
#include "worker/upstream/chunked.h"
#include "worker/upstream/client_sink.h"
#include "worker/upstream/echo_guard.h"
#include "worker/upstream/pool.h"
#include "worker/upstream/settle.h"

namespace ccr::worker::upstream {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using shared::Errc;
using clock = std::chrono::steady_clock;
using namespace std::string_view_literals;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

using ResponseParser = http::response_parser<http::buffer_body>;

// The largest response head accepted (Beast's limit for it, and the simple parser's).
constexpr std::size_t kResponseHeaderLimit = 64 * 1024;

// The upstream's response head, read by the one-pass parser (simple_head.h) when it is in the
// common subset with a status it takes (simple_response_status), else by Beast's, and what that
// says about its body's framing.
struct UpstreamHead {
    ResponseParser parser;  // Beast's: every other head, and the bodies it frames
    ResponseHead view;      // the head, read by either parser
    std::string bytes;      // a simple head's bytes, which `view` points into
    SimpleHead facts;       // a simple head's framing
    bool is_simple = false;

    unsigned status() const { return view.status; }
    std::optional<std::uint64_t> content_length() const {
        if (is_simple) return facts.content_length;
        const auto length = parser.content_length();
        return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
    }
    bool chunked() const { return is_simple ? facts.chunked : parser.chunked(); }
    // Beast's rule: HTTP/1.1 without `close`, and a body that does not end with the connection.
    bool keep_alive() const {
        return is_simple ? !facts.close && (facts.content_length || facts.chunked) : parser.keep_alive();
    }
    // A head Beast read: `view` points into its message.
    void view_beasts() {
        const auto& m = parser.get();
        view.status = m.result_int();
        view.reason = m.reason();
        view.fields.clear();
        for (const auto& f : m) view.fields.push_back({f.name(), f.name_string(), f.value()});
    }
};

// Bytes relayed per write at most, and read from the upstream per read.
constexpr std::size_t kRelayBuffer = 64 * 1024;
// One answer's relay buffer, taken from and given back to a short per-thread free list (a worker
// is one thread). Allocating and freeing 64 KiB per request made glibc consolidate its fast bins
// and trim the heap at every free (a chunk that large is past its consolidation threshold).
// Never zero-filled: a 64 KiB memset per request was half of the relay's instructions.
class RelayBuffer {
public:
    RelayBuffer() {
        if (free_.empty()) {
            mem_ = std::make_unique_for_overwrite<char[]>(kRelayBuffer);
        } else {
            mem_ = std::move(free_.back());
            free_.pop_back();
        }
    }
    ~RelayBuffer() {
        // Kept: as many as a busy worker reuses; streams beyond that give theirs back to malloc.
        if (free_.size() < kKept) free_.push_back(std::move(mem_));
    }
    RelayBuffer(const RelayBuffer&) = delete;
    RelayBuffer& operator=(const RelayBuffer&) = delete;
    std::span<char> span() const { return {mem_.get(), kRelayBuffer}; }

private:
    static constexpr std::size_t kKept = 16;
    static thread_local std::vector<std::unique_ptr<char[]>> free_;
    std::unique_ptr<char[]> mem_;
};
thread_local std::vector<std::unique_ptr<char[]>> RelayBuffer::free_;

// The largest 400 body read before committing, to see whether it is about thinking signatures.
constexpr std::size_t kMaxInspectedError = 64 * 1024;

bool retryable_status(unsigned status) { return status == 429 || status >= 500; }

std::chrono::microseconds since(clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - t0);
}

// Phase 1 (in run: the request head and body in one gather write) did not go out: a pooled
// connection the server had closed is retried on a fresh one; any other moves on.
Outcome request_not_sent(const Conn& conn, Attempt& at, const beast::error_code& ec) {
    if (conn.reused) return Outcome::retry_fresh;
    at.error = Errc::upstream_failed;
    at.error_message = "upstream connection failed: " + ec.message();
    return Outcome::failover;
}

// What the head says about the key's limits: anthropic-ratelimit-* and a 429's retry-after.
void read_limits(const ResponseHead& head, const Runtime& rt, Attempt& at) {
    std::int64_t unix_ms = -1, mono_ms = -1;  // read when the first such header comes
    for (const auto& f : head.fields) {
        const std::string_view name = f.name;
        if (name.size() > 20 && (name[0] == 'a' || name[0] == 'A')) {
            if (mono_ms < 0) {
                const auto& clock = rt.shared->clock();
                unix_ms = clock.unix_ms();
                mono_ms = clock.mono_ms();
            }
            limits::add_rate_limit_header(at.limits, name, f.value, unix_ms, mono_ms);
        } else if (iequals(name, "retry-after")) {
            at.retry_after_ms = limits::parse_retry_after_ms(f.value);
        }
    }
}

// Whether a 400 is about thinking signatures (thinking.h). Its body, when small and framed by a
// Content-Length, is read into the connection's buffer without consuming it, so that an answer
// about something else is relayed from there unchanged.
template <class Stream>
net::awaitable<bool> is_signature_error(Stream& up, Conn& conn, const UpstreamHead& head, RequestContext& ctx) {
    const auto length = head.content_length();
    if (!length || *length > kMaxInspectedError || head.chunked()) co_return false;
    const auto n = static_cast<std::size_t>(*length);
    conn.tcp().expires_at(ctx.deadline);
    while (conn.buffer.size() < n) {
        const ShortReadDrains room(conn.buffer.prepare(n - conn.buffer.size()));
        auto [ec, got] = co_await up.async_read_some(room, kTuple);
        conn.buffer.commit(got);
        if (ec) break;  // relayed as far as it came; the pump reports the failure
    }
    const auto data = conn.buffer.data();
    const std::string_view body(static_cast<const char*>(data.data()), std::min(n, data.size()));
    co_return body.size() == n && is_invalid_signature_error(body);
}

// Phase 2: the response head, within the response header timeout, and the decision it carries:
// nothing (commit: this upstream answers the client) or why not.
template <class Stream>
net::awaitable<std::optional<Outcome>> read_response_head(Runtime& rt,
                                                          Stream& up,
                                                          Conn& conn,
                                                          UpstreamHead& head,
                                                          RequestContext& ctx,
                                                          Attempt& at) {
    ResponseParser& parser = head.parser;
    parser.header_limit(kResponseHeaderLimit);
    parser.body_limit(boost::none);
    auto header_timeout = rt.config->server.response_header_timeout_ms > 0
                              ? std::chrono::milliseconds(rt.config->server.response_header_timeout_ms)
                              : rt.timeout();
    // A stream's head comes as soon as the upstream starts (a non-streaming answer's only when it
    // is complete, so that wait is not bounded here): with a next candidate waiting, a stalled
    // one is given up after routing.failover_timeout.
    if (!at.last_candidate && ctx.rec.stream) header_timeout = std::min(header_timeout, failover_wait(rt));
    conn.tcp().expires_at(std::min(ctx.deadline, clock::now() + header_timeout));
    // Beast's async_read_header, without its composed operation's layers: the parser takes what
    // is buffered, the socket is read only while the head is incomplete. The one-pass parser
    // looks first, while the head may still be one it takes (it re-reads a head that came in
    // pieces from the start, for as long as Beast has taken none of it).
    beast::error_code ec;
    std::size_t n = 0;  // what the parser took
    bool try_simple = true;
    bool tried = false;
    for (;;) {
        if (conn.buffer.size() > 0) {
            if (try_simple) {
                if (tried) head.view = {};
                tried = true;
                const auto data = conn.buffer.data();
                const char* const bytes = static_cast<const char*>(data.data());
                head.facts = parse_simple_response_head({bytes, data.size()}, kResponseHeaderLimit, head.view);
                if (head.facts.result == SimpleHead::Result::complete && simple_response_status(head.view.status)) {
                    head.is_simple = true;
                    // The view outlives the buffer's bytes (the body is read into it next).
                    head.bytes.assign(bytes, head.facts.size);
                    head.view.rebase(bytes, head.bytes.data());
                    conn.buffer.consume(head.facts.size);
                    n = head.facts.size;
                    break;
                }
                // Outside the subset (or a status it leaves to Beast): Beast reads it from the start.
                try_simple = head.facts.result == SimpleHead::Result::incomplete;
            }
            const std::size_t used = parser.put(conn.buffer.data(), ec);
            conn.buffer.consume(used);
            n += used;
            if (used > 0) try_simple = false;  // Beast has begun: what is left is not a head's start
            if (!ec || ec != http::error::need_more) break;  // the head, or a bad one
            ec = {};
        }
        auto [rec, got] = co_await up.async_read_some(ShortReadDrains(conn.buffer.prepare(kRelayBuffer)), kTuple);
        conn.buffer.commit(got);
        if (rec == net::error::eof) {
            ec = parser.got_some() ? http::error::partial_message : http::error::end_of_stream;
            break;
        }
        if (rec) {
            ec = rec;
            break;
        }
    }
    if (ec) {
        if (conn.reused && n == 0 && ec != beast::error::timeout) co_return Outcome::retry_fresh;
        if (ec == beast::error::timeout) {
            at.error = Errc::upstream_timeout;
            at.error_message = "upstream did not answer within the response header timeout";
            ctx.rec.timeout = true;
        } else {
            at.error = Errc::upstream_failed;
            at.error_message = "upstream connection failed: " + ec.message();
        }
        co_return Outcome::failover;
    }
    if (!head.is_simple) head.view_beasts();
    const unsigned status = head.status();
    at.status = status;
    read_limits(head.view, rt, at);
    const auto& debug = rt.config->logging.debug_options;
    if (at.debug || (debug.log_response_headers && spdlog::should_log(spdlog::level::debug))) {
        std::string headers;
        const std::vector<std::string> secrets = credentials_in_head(at.head);
        for (const auto& f : head.view.fields) append_redacted_header(headers, f.name, masked(f.value, secrets));
        spdlog::log(at.debug ? spdlog::level::info : spdlog::level::debug, "rid={} {}provider={}: answered {}{}",
                    ctx.request_id, at.debug ? "debug_for " : "", at.provider.name(), status, headers);
    }
    if (at.endpoint == Endpoint::count_tokens && at.provider.count_tokens_unavailable(status))
        co_return Outcome::local_answer;
    if (retryable_status(status) && !at.last_candidate) {
        at.error_message = "upstream answered " + std::to_string(status);
        co_return Outcome::failover;
    }
    if (status == 400 && at.check_signature_error && co_await is_signature_error(up, conn, head, ctx)) {
        at.error_message = "upstream refused the thinking signatures";
        co_return Outcome::retry_stripped;
    }
    co_return std::nullopt;
}

// The body of an error answer, up to kMaxInspectedError bytes, for the provider's error mapper
// and the echo guard. True when the whole body was read; otherwise `out` holds the part read,
// relayed first. An upstream that stalls here is given server.stream_idle_timeout_ms, as the
// pump would give it, before what came is relayed and the pump takes over.
template <class Stream>
net::awaitable<bool> read_error_body(Stream& up, Conn& conn, ResponseParser& parser, RequestContext& ctx,
                                     std::chrono::milliseconds idle, std::string& out) {
    out.resize(kMaxInspectedError);
    std::size_t have = 0;
    const auto now = clock::now();
    conn.tcp().expires_at(idle.count() > 0 && now + idle < ctx.deadline ? now + idle : ctx.deadline);
    while (!parser.is_done() && have < out.size()) {
        auto& b = parser.get().body();
        b.data = out.data() + have;
        b.size = out.size() - have;
        auto [ec, n] = co_await http::async_read_some(up, conn.buffer, parser, kTuple);
        have = out.size() - b.size;
        if (ec && ec != http::error::need_buffer) break;
    }
    out.resize(have);
    co_return parser.is_done();
}

// A provider's error in Anthropic's shape, with the upstream's Retry-After.
net::awaitable<void> write_mapped_error(ClientStream& client, RequestContext& ctx, const http::fields& head,
                                        const MappedError& e) {
    std::string extra;
    if (auto it = head.find(http::field::retry_after); it != head.end()) {
        extra = "Retry-After: ";
        extra += it->value();
        extra += "\r\n";
    }
    const std::string body = shared::error_body(e.type, e.message, ctx.request_id);
    co_await write_local(client, ctx, static_cast<int>(e.status), "application/json", body, false, extra);
}

// How the committed answer travels to the client.
struct Shape {
    bool sse = false;
    bool has_length = false;
    bool no_body = false;
    bool chunked = false;  // no length from the upstream: chunked to the client
    UsageTap::Mode tap = UsageTap::Mode::none;
};

// The answer's Content-Type (empty: none).
std::string_view content_type_of(const ResponseHead& head) {
    const ResponseHead::Field* f = head.find(http::field::content_type);
    return f != nullptr ? f->value : std::string_view();
}

Shape shape_of(const UpstreamHead& head,
               std::string_view content_type,
               const RequestContext& ctx,
               const ResponseDecoder* decoder) {
    const unsigned status = head.status();
    Shape s;
    s.sse = content_type.substr(0, 17) == "text/event-stream";
    s.has_length = head.content_length().has_value();
    s.no_body = status == 204 || status == 304 || ctx.method == "HEAD";
    s.chunked = !s.has_length && !s.no_body;
    s.tap = s.sse ? UsageTap::Mode::sse
                  : (content_type.find("json") != std::string_view::npos ? UsageTap::Mode::json
                                                                         : UsageTap::Mode::none);
    if (decoder != nullptr) {
        // The decoder's output has no length known in advance.
        s.sse = decoder->sse();
        s.has_length = false;
        s.chunked = !s.no_body;
        s.tap = s.sse ? UsageTap::Mode::sse : UsageTap::Mode::json;
    }
    return s;
}

// The client's response head: the upstream's, less hop-by-hop headers, with the relay's framing,
// SSE headers, request id and (routing.debug) X-CC-Relay-* headers.
std::string client_head(Runtime& rt, const Attempt& at, const RequestContext& ctx, const UpstreamHead& upstream,
                        const Shape& shape, const ResponseDecoder* decoder, const std::vector<std::string>& secrets) {
    std::string head;
    head.reserve(1024);
    append_status_line(head, static_cast<int>(upstream.status()));
    for (const auto& f : upstream.view.fields) {
        const http::field known = f.known;
        const std::string_view name = f.name;
        if (is_hop_by_hop(known)) continue;
        if (known == http::field::unknown &&
            (iequals(name, "x-request-id") || (shape.sse && iequals(name, "x-accel-buffering")))) {
            continue;
        }
        if (shape.sse && known == http::field::cache_control) continue;
        if (decoder != nullptr && known == http::field::content_type) continue;
        head += name;
        head += ": "sv;
        if (secrets.empty()) {
            head += f.value;
        } else {
            head += masked(f.value, secrets);
        }
        head += "\r\n"sv;
    }
    if (decoder != nullptr) {
        head += "Content-Type: "sv;
        head += decoder->content_type();
        head += "\r\n"sv;
    }
    if (shape.sse) head += "Cache-Control: no-cache, no-transform\r\nX-Accel-Buffering: no\r\n"sv;
    if (shape.has_length) {
        head += "Content-Length: "sv;
        append_decimal(head, *upstream.content_length());
        head += "\r\n"sv;
    } else if (shape.chunked) {
        head += "Transfer-Encoding: chunked\r\n"sv;
    }
    head += "X-Request-ID: "sv;
    head += ctx.request_id;
    head += "\r\n"sv;
    if (ctx.debug_headers) {
        // Time spent in the relay so far, excluding connect and waiting on the upstream.
        auto overhead = since(ctx.start) - ctx.rec.upstream_time;
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.3f", static_cast<double>(std::max<std::int64_t>(overhead.count(), 0)) / 1000.0);
        head += "X-CC-Relay-Provider: "sv;
        head += at.provider.name();
        head += "\r\nX-CC-Relay-Attempts: "sv;
        append_decimal(head, static_cast<std::uint64_t>(ctx.rec.failovers + 1));
        head += "\r\nX-CC-Relay-Strategy: "sv;
        head += rt.config->routing.strategy;
        head += "\r\nX-CC-Relay-Overhead-Ms: "sv;
        head += ms;
        head += "\r\n"sv;
    }
    if (!ctx.keep_alive) head += "Connection: close\r\n"sv;
    head += "\r\n"sv;
    return head;
}

// What the connection has buffered of the body, decoded into `out`; returns the bytes produced.
// A framing error lands in `failed`. A chunked body through the decoder:
std::size_t decode_buffered(ChunkedDecoder& chunks, Conn& conn, std::span<char> out, beast::error_code& failed) {
    const auto data = conn.buffer.data();
    const auto step = chunks.decode({static_cast<const char*>(data.data()), data.size()}, out);
    conn.buffer.consume(step.used);
    if (chunks.failed()) failed = http::error::bad_chunk;
    return step.produced;
}

// ... any other through Beast's parser, which framed it from the head.
std::size_t put_buffered(ResponseParser& parser, Conn& conn, std::span<char> out, beast::error_code& failed) {
    auto& b = parser.get().body();
    b.data = out.data();
    b.size = out.size();
    while (!parser.is_done() && b.size > 0 && conn.buffer.size() > 0) {
        beast::error_code pec;
        const std::size_t used = parser.put(conn.buffer.data(), pec);
        conn.buffer.consume(used);
        // Success first: comparing with Beast's error enums builds an error_code each time (a
        // category lookup).
        if (!pec) {
            if (used == 0) break;
            continue;
        }
        if (pec != http::error::need_more && pec != http::error::need_buffer) failed = pec;
        break;
    }
    return out.size() - b.size;
}

// What is buffered of a body that needs no decoding, into `out` as far as it goes; returns the
// bytes copied.
std::size_t copy_buffered(Conn& conn, std::span<char> out) {
    const auto data = conn.buffer.data();
    const std::size_t n = std::min(data.size(), out.size());
    std::memcpy(out.data(), data.data(), n);
    conn.buffer.consume(n);
    return n;
}

// How the answer's body is delimited, and how far it has come.
struct BodyFraming {
    enum class Kind {
        beast,     // Beast's parser frames it from the head it read (put_buffered)
        chunked,   // chunks, through the decoder (chunked.h)
        length,    // a Content-Length of a simple head: `remaining` bytes to come
        to_close,  // neither, in a simple head: the connection's end ends it
    };
    Kind kind = Kind::beast;
    ChunkedDecoder chunks;
    std::uint64_t remaining = 0;
    bool closed = false;  // to_close: the upstream closed the connection

    // The framing `head` gives the body; Beast's when its parser began reading it (an error body).
    BodyFraming(const UpstreamHead& head, bool beast_began) {
        if (beast_began) return;
        if (head.chunked()) {
            kind = Kind::chunked;
        } else if (head.is_simple) {
            kind = head.facts.content_length ? Kind::length : Kind::to_close;
            remaining = head.facts.content_length.value_or(0);
        }
    }
    bool done(const ResponseParser& parser) const {
        switch (kind) {
            case Kind::chunked: return chunks.done();
            case Kind::length: return remaining == 0;
            case Kind::to_close: return closed;
            case Kind::beast: break;
        }
        return parser.is_done();
    }
    std::size_t read(ResponseParser& parser, Conn& conn, std::span<char> out, beast::error_code& failed) {
        switch (kind) {
            case Kind::chunked: return decode_buffered(chunks, conn, out, failed);
            case Kind::length: {
                const std::size_t n =
                    copy_buffered(conn, out.first(static_cast<std::size_t>(std::min<std::uint64_t>(remaining, out.size()))));
                remaining -= n;
                return n;
            }
            case Kind::to_close: return copy_buffered(conn, out);
            case Kind::beast: break;
        }
        return put_buffered(parser, conn, out, failed);
    }
    // The upstream closed the connection: the body is complete (true) or cut short.
    bool close(ResponseParser& parser) {
        switch (kind) {
            case Kind::to_close: closed = true; return true;
            case Kind::chunked:
            case Kind::length: return false;
            case Kind::beast: break;
        }
        beast::error_code ec;
        parser.put_eof(ec);
        return !ec;
    }
};

// How pumping a body ended.
enum class PumpEnd { complete, client_gone, upstream_failed, cut, decode_failed, idle };

// Phase 3: the body, from the upstream through the sink. Whatever is buffered is decoded
// synchronously into one piece and written with one writev, so N small events read at once cost
// one write, not N; the socket is read only when the buffer is empty. `body` says how the body is
// delimited and decodes it (BodyFraming). The head goes
// out with the first piece, or alone when no body byte is buffered yet (the client sees the
// status at once). A provider's decoder, when there is one, turns each piece into what the client
// gets; a stream it finds broken ends with the decoder's error event and a clean end.
// `complete()` is called once the body is whole and clean, before its last bytes are written.
template <class Stream, class OnComplete>
net::awaitable<PumpEnd> pump_body(Stream& up,
                                  Conn& conn,
                                  ResponseParser& parser,
                                  BodyFraming& body,
                                  bool no_body,
                                  ClientSink& sink,
                                  ResponseDecoder* decoder,
                                  const Runtime::ActiveRelay& registration,
                                  RequestContext& ctx,
                                  std::chrono::milliseconds idle,
                                  OnComplete& complete) {
    std::string decoded;
    const RelayBuffer buf_mem;
    const std::span<char> buf = buf_mem.span();
    DeadlineStream& up_tcp = conn.tcp();
    for (;;) {
        std::size_t got = 0;
        beast::error_code perr;
        if (!no_body && !body.done(parser)) got = body.read(parser, conn, buf, perr);
        const bool done = no_body || body.done(parser);
        std::span<const char> piece = buf.first(got);
        bool last = done && !perr;
        bool broken = false;
        if (decoder != nullptr) {
            decoded.clear();
            broken = !decoder->feed(piece, decoded) || (last && !decoder->finish(decoded));
            piece = decoded;
            last = last || broken;
        }
        // The piece framed and written here: no coroutine frame of its own per read. Undecoded,
        // it starts `buf`, all of which is readable (the usage tap's padding).
        const auto out = sink.frame(piece, last, decoder == nullptr ? buf.size() : 0);
        if (last && !broken) complete();
        if (!out.empty()) {
            beast::error_code wec;
            if (const auto rest = write_now(sink.client().plain_socket(), out))
                std::tie(wec, std::ignore) = co_await net::async_write(sink.client(), rest->span(), all_at_once, kTuple);
            if (!sink.written(piece.size(), wec)) co_return PumpEnd::client_gone;
        }
        if (broken) co_return PumpEnd::decode_failed;
        if (done) co_return PumpEnd::complete;
        if (perr) co_return PumpEnd::upstream_failed;
        if (got > 0) continue;  // more may be buffered
        if (registration.cut) co_return PumpEnd::cut;
        // server.stream_idle_timeout_ms bounds each wait for the next bytes; the request's
        // deadline, the whole.
        const auto now = clock::now();
        const bool idle_first = idle.count() > 0 && now + idle < ctx.deadline;
        up_tcp.expires_at(idle_first ? now + idle : ctx.deadline);
        auto [rec, rn] = co_await up.async_read_some(ShortReadDrains(conn.buffer.prepare(kRelayBuffer)), kTuple);
        if (rec == beast::error::timeout && idle_first) co_return PumpEnd::idle;
        conn.buffer.commit(rn);
        if (rec == net::error::eof || rec == net::ssl::error::stream_truncated) {
            // A body delimited by the connection's end is complete now; any other is cut short.
            if (!body.close(parser)) co_return PumpEnd::upstream_failed;
            if (rn == 0) continue;
        } else if (rec) {
            if (rec == beast::error::timeout) ctx.rec.timeout = true;
            co_return PumpEnd::upstream_failed;
        }
    }
}

template <class Stream>
net::awaitable<Outcome> run(Runtime& rt,
                            Stream& up,
                            Conn& conn,
                            ClientStream& client,
                            RequestContext& ctx,
                            Attempt& at,
                            bool& reusable) {
    reusable = false;
    const auto t0 = clock::now();
    conn.tcp().expires_at(ctx.deadline);
    // A span, which the write operation copies, rather than the list itself (which it would).
    const std::span<const net::const_buffer> request(at.request.data(), at.request.size());
    // What the socket does not take at once is written by Asio. The answer's read then waits for
    // the socket's next readiness event without trying first when this connection's last read
    // left nothing in it (short_read.h).
    if (const auto rest = write_now(conn.plain ? &conn.plain->socket() : nullptr, request)) {
        if (auto [ec, n] = co_await net::async_write(up, rest->span(), all_at_once, kTuple); ec)
            co_return request_not_sent(conn, at, ec);
    }
    UpstreamHead head;
    if (auto decided = co_await read_response_head(rt, up, conn, head, ctx, at)) co_return *decided;
    ResponseParser& parser = head.parser;  // the error paths' (a status >= 400 is never simple: Beast's)

    // Commit: from here on the answer is this upstream's.
    const unsigned status = head.status();
    // An error the provider shapes its own way is read (bounded) and answered in Anthropic's.
    std::string error_prefix;
    bool beast_body = false;  // Beast's parser began the body: it reads the rest
    // An error answer may quote the request's credentials back (echo_guard.h): its head and the
    // start of its body are masked before anything of it is logged or relayed.
    std::vector<std::string> secrets;
    if (status >= 400) secrets = credentials_in_head(at.head);
    if (status >= 400 && (at.provider.maps_errors() || !secrets.empty()) && ctx.method != "HEAD") {
        beast_body = true;
        const bool whole = co_await read_error_body(
            up, conn, parser, ctx, std::chrono::milliseconds(rt.config->server.stream_idle_timeout_ms), error_prefix);
        mask_secrets(error_prefix, secrets);
        if (whole && at.provider.maps_errors()) {
            if (auto mapped = at.provider.map_error(status, parser.get(), error_prefix)) {
                ctx.rec.upstream_time += since(t0);
                ctx.rec.upstream_error = status >= 500;
                settle(rt, at, Outcome::relayed, false, ctx);  // before the client has it
                co_await write_mapped_error(client, ctx, parser.get(), *mapped);
                reusable = head.keep_alive();
                co_return Outcome::relayed;
            }
        }
    }
    const std::string_view content_type = content_type_of(head.view);
    std::unique_ptr<ResponseDecoder> decoder = at.provider.decoder(status, content_type, at.endpoint);
    const Shape shape = shape_of(head, content_type, ctx, decoder.get());
    ctx.rec.upstream_time += since(t0);
    ClientSink sink(client, ctx, client_head(rt, at, ctx, head, shape, decoder.get(), secrets), shape.chunked, shape.sse,
                    shape.tap);
    ctx.rec.status = static_cast<int>(status);
    ctx.rec.upstream_error = status >= 500;

    const auto body_t0 = clock::now();
    // Registered while the body is relayed: the end of a drain window cuts it.
    Runtime::ActiveRelay registration(rt, client, conn.tcp());  // the drain's end sets its `cut`
    // The answer is whole and clean: settled before its last bytes go out (settle.h).
    auto complete = [&] {
        ctx.rec.set_usage(sink.finish_usage());
        settle(rt, at, Outcome::relayed, false, ctx);
    };
    PumpEnd end = PumpEnd::complete;
    bool sent_all = false;  // an error body read for the mapper that it left as it was
    if (!error_prefix.empty()) {
        sent_all = parser.is_done();
        const auto out = sink.frame(error_prefix, sent_all);
        if (sent_all) complete();
        beast::error_code wec;
        if (const auto rest = write_now(sink.client().plain_socket(), out))
            std::tie(wec, std::ignore) = co_await net::async_write(sink.client(), rest->span(), all_at_once, kTuple);
        if (!sink.written(error_prefix.size(), wec)) {
            end = PumpEnd::client_gone;
            sent_all = true;
        }
    }
    if (!sent_all) {
        BodyFraming body(head, beast_body);
        end = co_await pump_body(up, conn, parser, body, shape.no_body,
                                 sink, decoder.get(), registration, ctx,
                                 std::chrono::milliseconds(rt.config->server.stream_idle_timeout_ms), complete);
    }
    // A read the cut cancelled ends as a failed one: it was the cut.
    if (end == PumpEnd::upstream_failed && registration.cut) end = PumpEnd::cut;
    // The body phase is paced by the upstream; count it as upstream time (the relay's own share of
    // it is the decode and write, small next to the wait).
    ctx.rec.upstream_time += since(body_t0);
    ctx.rec.set_usage(sink.finish_usage());
    switch (end) {
        case PumpEnd::complete:
            reusable = head.keep_alive();
            break;
        case PumpEnd::client_gone:
            ctx.rec.client_aborted = true;
            break;
        case PumpEnd::idle:
            // The upstream went silent mid-answer: end what can be ended in-band, and give the
            // connection up (its answer never finished).
            ctx.keep_alive = false;
            ctx.rec.upstream_error = true;
            ctx.rec.timeout = true;
            spdlog::warn("rid={} provider={}: no upstream bytes for {} ms (server.stream_idle_timeout_ms); stream ended{}",
                         ctx.request_id, at.provider.name(), rt.config->server.stream_idle_timeout_ms,
                         sink.can_end_with_event() ? " with event: error (timeout_error)" : "");
            if (sink.can_end_with_event())
                co_await sink.end_with_error_event(Errc::upstream_timeout,
                                                   "the upstream stopped sending mid-stream (server.stream_idle_timeout_ms)");
            break;
        case PumpEnd::decode_failed:
            // The decoder's error event ended the client's stream; the upstream's is abandoned.
            ctx.rec.upstream_error = true;
            at.error_message = "the response stream broke off; sent its error event";  // relay.cc logs it
            break;
        case PumpEnd::cut:
            // The drain window ended. The upstream did nothing wrong; the client gets a last event
            // when the framing allows one (SSE, chunked), else the cut itself is the signal.
            ctx.keep_alive = false;
            spdlog::warn("rid={} stream cut at the end of the drain window{}", ctx.request_id,
                         sink.can_end_with_event() ? "; sent event: error (overloaded_error)" : "");
            if (sink.can_end_with_event()) co_await sink.end_with_error_event();
            break;
        case PumpEnd::upstream_failed:
            // The status line is gone. An SSE stream ends in-band, as Anthropic's own mid-stream
            // errors do (event: error, then a clean end of the chunked body), which the SDKs
            // raise as an API error rather than a broken connection; any other body is closed
            // short of its framing, so the client sees the truncation.
            ctx.rec.upstream_error = true;
            ctx.keep_alive = false;
            at.error_message = "the upstream connection broke off during the response body";
            if (sink.can_end_with_event()) {
                at.error_message += "; sent event: error (api_error)";
                co_await sink.end_with_error_event(Errc::upstream_failed,
                                                   "the upstream connection broke off mid-stream");
            }
            break;
    }
    co_return Outcome::relayed;
}

}  // namespace

std::chrono::milliseconds failover_wait(const Runtime& rt) {
    return std::chrono::milliseconds(rt.config->routing.failover_timeout);
}

net::awaitable<Outcome> exchange(Runtime& rt,
                                 Conn& conn,
                                 ClientStream& client,
                                 RequestContext& ctx,
                                 Attempt& at,
                                 bool& reusable) {
    // Not a coroutine: the caller awaits run's own frame, not one more around it.
    if (conn.tls) return run(rt, *conn.tls, conn, client, ctx, at, reusable);
    return run(rt, *conn.plain, conn, client, ctx, at, reusable);
}

}  // namespace ccr::worker::upstream
