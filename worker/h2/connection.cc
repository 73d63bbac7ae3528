#include "worker/h2/connection.h"

#include <sys/socket.h>

#include <array>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include "worker/client_stream.h"
#include "worker/h2/common.h"
#include "worker/session.h"

namespace ccr::worker::h2 {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = net::local::stream_protocol;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

// Like nginx's http2_max_concurrent_streams (128).
constexpr std::uint32_t kMaxConcurrentStreams = 128;
// Request body a stream may have in flight to the relay, and all streams of a connection.
constexpr std::int32_t kStreamWindow = 256 * 1024;
constexpr std::int32_t kConnectionWindow = 1024 * 1024;
// Answer bytes held for a stream whose client's window is closed before its socket pair is no
// longer read (the pair's own buffers hold about as much again).
constexpr std::size_t kResponseBuffer = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;

class Connection;

struct Stream {
    Stream(Connection& c, std::int32_t stream_id, net::io_context& ioc)
        : conn(c), id(stream_id), inner(ioc), request(ioc), answer(ioc) {}

    Connection& conn;
    const std::int32_t id;

    // The request, from HEADERS (and CONTINUATION), as an HTTP/1.1 head.
    std::string method, path, authority, fields, cookie;
    std::size_t header_bytes = 0;
    bool has_length = false;
    bool started = false;      // its session is running
    bool request_done = false;  // END_STREAM seen

    // The request for the session (head, body).
    local::socket inner;
    IncomingBody request;

    // The answer.
    Http1Reader<false> reader;
    OutgoingBody answer;
    bool head_only = false;
    bool submitted = false;

    bool relay_gone = false;  // the session reads no more of the request
    bool closed = false;      // nghttp2 has closed the stream
};

class Connection {
  public:
    Connection(Runtime& rt, ClientStream& io, std::string peer, Runtime::StreamList::iterator reg)
        : rt_(rt), io_(io), peer_(std::move(peer)), reg_(reg), wake_(rt.ioc), tasks_done_(rt.ioc) {}

    ~Connection() {
        if (session_) nghttp2_session_del(session_);
    }

    bool init(const Upgrade* upgrade);
    net::awaitable<void> run(std::string_view received);

  private:
    // nghttp2's callbacks.
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                         const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* self);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id, const std::uint8_t* data,
                             std::size_t len, void* self);
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* self);
    static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* self);

    Stream* stream_of(std::int32_t id) {
        return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session_, id));
    }
    void start(Stream& s);
    void finish_request(Stream& s);
    void submit_answer(Stream& s);
    void update_busy();
    void begin_shutdown();

    net::awaitable<void> reader(std::string_view received);
    net::awaitable<void> writer();
    net::awaitable<void> feed_relay(std::shared_ptr<Stream> s);
    net::awaitable<void> read_answer_loop(std::shared_ptr<Stream> s);

    Runtime& rt_;
    ClientStream& io_;
    std::string peer_;
    Runtime::StreamList::iterator reg_;
    nghttp2_session* session_ = nullptr;
    std::map<std::int32_t, std::shared_ptr<Stream>> streams_;
    Signal wake_;  // the writer: there may be frames to send
    Signal tasks_done_;
    std::size_t tasks_ = 0;  // stream coroutines still running
    bool dead_ = false;       // the client connection failed: nothing more is sent
    bool finished_ = false;   // nothing more to do: the reader ends
    bool shutting_down_ = false;  // GOAWAY sent: no new streams
};

int Connection::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
    auto& c = *static_cast<Connection*>(self);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    auto s = std::make_shared<Stream>(c, frame->hd.stream_id, c.rt_.ioc);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s.get());
    c.streams_.emplace(frame->hd.stream_id, std::move(s));
    c.update_busy();
    return 0;
}

int Connection::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* n, std::size_t namelen,
                          const std::uint8_t* v, std::size_t valuelen, std::uint8_t, void* self) {
    auto& c = *static_cast<Connection*>(self);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers
    Stream* s = c.stream_of(frame->hd.stream_id);
    if (!s) return 0;
    const std::string_view name(reinterpret_cast<const char*>(n), namelen);
    const std::string_view value(reinterpret_cast<const char*>(v), valuelen);
    // The stream session answers a head over server.max_header_bytes with 431; past twice that
    // the stream is reset rather than buffering more of it.
    s->header_bytes += namelen + valuelen + 4;
    if (s->header_bytes > 2 * static_cast<std::size_t>(c.rt_.config->server.max_header_bytes) + 1024)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    if (name == ":method") {
        s->method = value;
    } else if (name == ":path") {
        s->path = value;
    } else if (name == ":authority") {
        s->authority = value;
    } else if (name.starts_with(':')) {
        // :scheme; nghttp2 has refused unknown pseudo-headers already.
    } else if (name == "host") {
        if (s->authority.empty()) s->authority = value;
    } else if (name == "cookie") {
        // HTTP/2 may split cookies into several fields; HTTP/1.1 wants one (RFC 9113 §8.2.3).
        if (!s->cookie.empty()) s->cookie += "; ";
        s->cookie += value;
    } else if (name == "te" || name == "expect") {
        // te: only "trailers" is allowed in HTTP/2 and means nothing to the relay. expect:
        // 100-continue is HTTP/1.1's; over HTTP/2 the body is already on its way.
    } else {
        if (name == "content-length") s->has_length = true;
        s->fields += name;
        s->fields += ": ";
        s->fields += value;
        s->fields += "\r\n";
    }
    return 0;
}

int Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto& c = *static_cast<Connection*>(self);
    Stream* s = frame->hd.stream_id ? c.stream_of(frame->hd.stream_id) : nullptr;
    if (!s) return 0;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->request_done = end;
        c.start(*s);
    } else if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) && end) {
        c.finish_request(*s);
    }
    return 0;
}

int Connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                              std::size_t len, void* self) {
    auto& c = *static_cast<Connection*>(self);
    Stream* s = c.stream_of(id);
    if (!s || s->relay_gone || !s->inner.is_open()) {
        nghttp2_session_consume(session, id, len);  // nobody reads it: give the window back
        return 0;
    }
    s->request.append_data(data, len);
    return 0;
}

int Connection::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* self) {
    auto& c = *static_cast<Connection*>(self);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    Stream& s = *it->second;
    s.closed = true;
    if (!s.answer.done && error_code != NGHTTP2_NO_ERROR) {
        spdlog::debug("h2 {} stream {} reset by the client (error {})", c.peer_, id, error_code);
    }
    // Closing the pair tells the stream's session its client is gone (as a closed connection
    // would): it cancels the upstream request if one is still running.
    beast::error_code ignored;
    s.inner.close(ignored);
    s.request.ready.notify();
    s.answer.room.notify();
    c.streams_.erase(it);
    c.update_busy();
    if (c.rt_.draining) c.begin_shutdown();
    return 0;
}

int Connection::on_frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
    auto& c = *static_cast<Connection*>(self);
    if ((frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS) ||
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    // The answer is complete while the client is still sending its request (answered early: a
    // 413, a 401): the rest is not wanted (RFC 9113 §8.1).
    if (Stream* s = c.stream_of(frame->hd.stream_id); s && !s->request_done) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

bool Connection::init(const Upgrade* upgrade) {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // Request body bytes are given back to the client's window only once its session has them.
    nghttp2_option_set_no_auto_window_update(opt, 1);
    const int rv = nghttp2_session_server_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return false;

    if (upgrade) {
        if (nghttp2_session_upgrade2(session_, reinterpret_cast<const std::uint8_t*>(upgrade->settings.data()),
                                     upgrade->settings.size(), upgrade->head_method ? 1 : 0, nullptr) != 0)
            return false;
    }
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(rt_.config->server.max_header_bytes)},
    };
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

    if (upgrade) {
        // Stream 1 is the upgraded request itself, complete (its body, if any, came before).
        auto s = std::make_shared<Stream>(*this, 1, rt_.ioc);
        s->head_only = upgrade->head_method;
        s->request_done = true;
        s->request.bytes = upgrade->head;
        nghttp2_session_set_stream_user_data(session_, 1, s.get());
        streams_.emplace(1, s);
        update_busy();
        start(*s);
    }
    return true;
}

void Connection::update_busy() {
    const bool busy = !streams_.empty();
    rt_.mark_busy(reg_, busy);
    // A connection with nothing in flight closes after server.idle_timeout_ms, as an HTTP/1.1
    // keep-alive connection does (the timeout closes the socket; the reader ends).
    if (busy) {
        io_.expires_never();
    } else if (!dead_) {
        io_.expires_after(std::chrono::milliseconds(rt_.config->server.idle_timeout_ms));
    }
}

void Connection::begin_shutdown() {
    if (shutting_down_ || dead_) return;
    shutting_down_ = true;
    // Streams already started finish; the client opens new ones elsewhere (RFC 9113 §6.8).
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    wake_.notify();
}

void Connection::start(Stream& s) {
    if (s.started) return;
    s.started = true;
    if (s.request.bytes.empty()) {  // not an upgrade: the head from the HEADERS frame
        std::string head;
        head.reserve(s.fields.size() + s.path.size() + 96);
        head += s.method;
        head += ' ';
        head += s.path;
        head += " HTTP/1.1\r\nhost: ";
        head += s.authority.empty() ? std::string_view("localhost") : std::string_view(s.authority);
        head += "\r\n";
        head += s.fields;
        if (!s.cookie.empty()) head += "cookie: " + s.cookie + "\r\n";
        if (!s.has_length) {
            if (!s.request_done) {
                s.request.chunked = true;
                head += "transfer-encoding: chunked\r\n";
            } else if (s.method != "GET" && s.method != "HEAD") {
                head += "content-length: 0\r\n";
            }
        }
        head += "connection: close\r\n\r\n";
        s.head_only = s.method == "HEAD";
        s.request.bytes = std::move(head);
    }
    s.fields.clear();
    s.fields.shrink_to_fit();

    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        spdlog::warn("h2 {}: socketpair failed: {}", peer_, std::strerror(errno));
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_REFUSED_STREAM);
        return;
    }
    beast::error_code ec;
    s.inner.assign(local(), fds[0], ec);
    net::ip::tcp::socket relay_end(rt_.ioc);
    relay_end.assign(net::ip::tcp::v4(), fds[1], ec);
    net::co_spawn(rt_.ioc, run_bridged_session(rt_, std::move(relay_end), peer_), log_task_end);
    auto self = streams_.at(s.id);
    tasks_ += 2;
    net::co_spawn(rt_.ioc, feed_relay(self), log_task_end);
    net::co_spawn(rt_.ioc, read_answer_loop(self), log_task_end);
    if (s.request_done) finish_request(s);
}

void Connection::finish_request(Stream& s) {
    s.request_done = true;
    s.request.append_end();
}

void Connection::submit_answer(Stream& s) {
    s.submitted = true;
    std::vector<nghttp2_nv> nva;
    nva.reserve(s.reader.fields.size() + 1);
    const std::string status = std::to_string(s.reader.status);
    nva.push_back(field(":status", status));
    for (const auto& [n, v] : s.reader.fields) nva.push_back(field(n, v));
    const bool no_body = s.head_only || s.reader.status == 204 || s.reader.status == 304 ||
                         (s.answer.done && s.answer.size() == 0);
    const nghttp2_data_provider provider = s.answer.provider();
    nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), no_body ? nullptr : &provider);
}

// The stream's request bytes into its socket pair, as they arrive; DATA bytes go back to the
// client's window once written.
net::awaitable<void> Connection::feed_relay(std::shared_ptr<Stream> s) {
    // Ends when the stream does, or when the session is done with the request (answered early,
    // or gone): anything the client still sends for it is then dropped, its window given back.
    co_await feed_pair(s->inner, s->request, session_, s->id, dead_, wake_, [&] { return s->closed; });
    s->relay_gone = true;
    if (!s->closed && !dead_ && s->request.unconsumed > 0) {
        nghttp2_session_consume(session_, s->id, std::exchange(s->request.unconsumed, 0));
        wake_.notify();
    }
    s->request.bytes.clear();
    if (--tasks_ == 0) tasks_done_.notify();
}

// The stream session's answer out of the socket pair, into HEADERS and DATA frames.
net::awaitable<void> Connection::read_answer_loop(std::shared_ptr<Stream> s) {
    beast::flat_buffer buf;
    Http1Reader<false>& reader = s->reader;
    reader.body = &s->answer.bytes;
    if (s->head_only) reader.skip(true);
    while (!s->closed && !dead_ && !s->answer.done) {
        if (s->answer.size() >= kResponseBuffer) {
            co_await s->answer.room.wait();  // the client's window is closed; wait for DATA to go out
            continue;
        }
        auto [ec, n] = co_await s->inner.async_read_some(buf.prepare(kReadChunk), kTuple);
        if (s->closed || dead_) break;
        beast::error_code pec;
        if (ec) {
            // The session closed the pair. An answer read to its end needs nothing more; one
            // cut short (or none) resets the stream, the HTTP/2 way to say it is incomplete.
            if (reader.is_header_done()) reader.put_eof(pec);
            if (!reader.is_done() || pec) {
                nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
                wake_.notify();
                break;
            }
        } else {
            buf.commit(n);
            while (buf.size() > 0 && !reader.is_done()) {
                const std::size_t used = reader.put(buf.data(), pec);
                buf.consume(used);
                if (pec == http::error::need_more) {
                    pec = {};
                    break;
                }
                if (pec) break;
            }
            if (pec) {
                spdlog::warn("h2 {} stream {}: unreadable answer from its session: {}", peer_, s->id, pec.message());
                nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
                wake_.notify();
                break;
            }
            if (reader.is_header_done() && reader.status < 200) {
                // An interim answer: the session writes none, since Expect is not forwarded.
                spdlog::warn("h2 {} stream {}: interim answer {} from its session", peer_, s->id, reader.status);
                nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
                wake_.notify();
                break;
            }
        }
        if (reader.is_done()) s->answer.done = true;
        if (!reader.is_header_done()) continue;
        if (!s->submitted) {
            submit_answer(*s);
        } else {
            nghttp2_session_resume_data(session_, s->id);
        }
        wake_.notify();
    }
    if (--tasks_ == 0) tasks_done_.notify();
}

net::awaitable<void> Connection::writer() {
    std::string out;
    while (!dead_) {
        if (!co_await send_frames(io_, session_, out)) {
            dead_ = true;
            break;
        }
        if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
        co_await wake_.wait();
    }
    // Done (GOAWAY sent and every stream over, a protocol error, or the client gone): the
    // reader's pending read ends too.
    finished_ = true;
    io_.cancel();
    if (--tasks_ == 0) tasks_done_.notify();
}

net::awaitable<void> Connection::reader(std::string_view received) {
    std::array<char, kReadChunk> buf;
    auto feed = [this](const char* data, std::size_t n) {
        const ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data), n);
        if (rv < 0) {
            // nghttp2 has queued a GOAWAY for a connection error; a bad preface gets nothing.
            spdlog::debug("h2 {}: {}", peer_, nghttp2_strerror(static_cast<int>(rv)));
            if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) dead_ = true;
        }
        if (rt_.draining) begin_shutdown();
        wake_.notify();
    };
    if (!received.empty()) feed(received.data(), received.size());
    while (!finished_ && !dead_) {
        auto [ec, n] = co_await io_.async_read_some(net::buffer(buf), kTuple);
        if (finished_ || dead_) break;
        if (ec == net::error::operation_aborted) {
            // Cancelled by the runtime: a stop, a drain, or a newcomer at server.max_connections.
            if (streams_.empty()) break;
            begin_shutdown();
            continue;
        }
        if (ec) {
            dead_ = true;  // the client is gone, or idled out
            break;
        }
        feed(buf.data(), n);
    }
    wake_.notify();
}

net::awaitable<void> Connection::run(std::string_view received) {
    ++tasks_;  // the writer
    net::co_spawn(rt_.ioc, writer(), log_task_end);
    update_busy();
    co_await reader(received);
    if (!finished_) {
        // The client went away or the connection failed: every stream's session hears it.
        dead_ = true;
        wake_.notify();
    }
    for (auto& [id, s] : streams_) {
        beast::error_code ignored;
        s->closed = true;
        s->inner.close(ignored);
        s->request.ready.notify();
        s->answer.room.notify();
    }
    while (tasks_ > 0) co_await tasks_done_.wait();
    streams_.clear();
    rt_.mark_busy(reg_, false);
}

}  // namespace

bool decode_settings(std::string_view value, std::string& out) {
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : value) {
        int v;
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        } else if (c >= 'a' && c <= 'z') {
            v = c - 'a' + 26;
        } else if (c >= '0' && c <= '9') {
            v = c - '0' + 52;
        } else if (c == '-' || c == '+') {
            v = 62;
        } else if (c == '_' || c == '/') {
            v = 63;
        } else if (c == '=') {
            break;
        } else {
            return false;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    return out.size() % 6 == 0;  // SETTINGS entries are 6 bytes each
}

net::awaitable<void> serve(Runtime& rt,
                           ClientStream& stream,
                           std::string_view received,
                           std::string peer,
                           Runtime::StreamList::iterator registration,
                           const Upgrade* upgrade) {
    Connection c(rt, stream, std::move(peer), registration);
    registration->carrier = true;
    if (!c.init(upgrade)) {
        spdlog::warn("h2: could not start a session");
        co_return;
    }
    co_await c.run(received);
}

}  // namespace ccr::worker::h2
