#include "worker/h2/upstream.h"

#include <sys/socket.h>

#include <array>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>
#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include "worker/h2/common.h"

namespace ccr::worker::h2 {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = net::local::stream_protocol;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

constexpr std::uint32_t kMaxStreamsPerConnection = 128;  // even when the server allows more
constexpr std::int32_t kStreamWindow = 1024 * 1024;       // answer bytes in flight per stream
constexpr std::int32_t kConnectionWindow = 16 * 1024 * 1024;
constexpr std::size_t kRequestBuffer = 64 * 1024;  // body bytes read ahead of the stream's window
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::chrono::seconds kIdleTimeout{60};  // as the HTTP/1.1 pool's

struct UpStream {
    explicit UpStream(net::io_context& ioc) : inner(ioc), request(ioc), answer(ioc) {}

    std::int32_t id = -1;
    local::socket inner;

    // The request.
    Http1Reader<true> reader;
    OutgoingBody request;

    // The answer, as HTTP/1.1 for the exchange.
    int status = 0;
    std::string head_fields;
    bool has_length = false;
    bool head_written = false;
    IncomingBody answer;
    bool answer_done = false;

    bool closed = false;  // nghttp2 has closed the stream
};

}  // namespace

class ClientSession : public std::enable_shared_from_this<ClientSession> {
  public:
    ClientSession(net::io_context& ioc, std::string key, std::unique_ptr<Upstreams::TlsStream> tls)
        : ioc_(ioc), key_(std::move(key)), tls_(std::move(tls)), wake_(ioc) {}
    ~ClientSession() {
        if (session_) nghttp2_session_del(session_);
    }

    bool start();
    bool usable() const { return !dead_ && !retiring_ && !goaway_; }
    std::size_t room() const {
        if (!usable()) return 0;
        const std::uint32_t remote =
            nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        const std::size_t cap = std::min(remote, kMaxStreamsPerConnection);
        const std::size_t used = streams_.size() + reserved_;
        return used < cap ? cap - used : 0;
    }
    bool finished() const { return dead_ && tasks_ == 0; }
    std::optional<net::ip::tcp::socket> open();
    void retire() {
        retiring_ = true;
        if (streams_.empty()) shut_down();
    }

  private:
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                         const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* self);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
    static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id, const std::uint8_t* data,
                             std::size_t len, void* self);
    static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* self);

    UpStream* stream_of(std::int32_t id) {
        return static_cast<UpStream*>(nghttp2_session_get_stream_user_data(session_, id));
    }
    void write_head(UpStream& s, bool end);
    void end_answer(UpStream& s);
    void update_idle();
    void shut_down();

    net::awaitable<void> reader();
    net::awaitable<void> writer();
    net::awaitable<void> send_request(std::shared_ptr<UpStream> s);
    net::awaitable<void> feed_exchange(std::shared_ptr<UpStream> s);

    net::io_context& ioc_;
    std::string key_;
    std::unique_ptr<Upstreams::TlsStream> tls_;
    nghttp2_session* session_ = nullptr;
    std::map<std::int32_t, std::shared_ptr<UpStream>> streams_;  // submitted streams
    Signal wake_;
    std::size_t reserved_ = 0;  // streams opened whose request head is not submitted yet
    std::size_t tasks_ = 0;
    bool dead_ = false;
    bool retiring_ = false;
    bool goaway_ = false;  // the server sent GOAWAY
    bool shutting_down_ = false;
};

int ClientSession::on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* n, std::size_t namelen,
                             const std::uint8_t* v, std::size_t valuelen, std::uint8_t, void* self) {
    auto& c = *static_cast<ClientSession*>(self);
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    UpStream* s = c.stream_of(frame->hd.stream_id);
    if (!s || s->head_written) return 0;  // trailers: HTTP/1.1's exchange has no use for them
    const std::string_view name(reinterpret_cast<const char*>(n), namelen);
    const std::string_view value(reinterpret_cast<const char*>(v), valuelen);
    if (name == ":status") {
        s->status = 0;
        for (char ch : value) s->status = s->status * 10 + (ch - '0');
        return 0;
    }
    if (name.starts_with(':') || connection_specific(name)) return 0;
    if (name == "content-length") s->has_length = true;
    s->head_fields += name;
    s->head_fields += ": ";
    s->head_fields += value;
    s->head_fields += "\r\n";
    return 0;
}

void ClientSession::write_head(UpStream& s, bool end) {
    std::string head = "HTTP/1.1 " + std::to_string(s.status) + ' ';
    head += http::obsolete_reason(static_cast<http::status>(s.status));
    head += "\r\n";
    head += s.head_fields;
    if (!s.has_length) {
        if (end) {
            head += "content-length: 0\r\n";
        } else {
            s.answer.chunked = true;
            head += "transfer-encoding: chunked\r\n";
        }
    }
    head += "\r\n";
    s.answer.bytes += head;
    s.head_written = true;
    s.head_fields.clear();
}

void ClientSession::end_answer(UpStream& s) {
    if (s.answer_done) return;
    s.answer_done = true;
    s.answer.append_end();
}

int ClientSession::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
    auto& c = *static_cast<ClientSession*>(self);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c.goaway_ = true;  // streams up to its last id finish; new ones go to another connection
        return 0;
    }
    UpStream* s = frame->hd.stream_id ? c.stream_of(frame->hd.stream_id) : nullptr;
    if (!s) return 0;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && !s->head_written) {
        if (s->status >= 100 && s->status < 200) {
            s->head_fields.clear();  // an interim answer: wait for the final one
            s->has_length = false;
            return 0;
        }
        c.write_head(*s, end);
        s->answer.ready.notify();
    }
    if (end) c.end_answer(*s);
    return 0;
}

int ClientSession::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                                 std::size_t len, void* self) {
    auto& c = *static_cast<ClientSession*>(self);
    UpStream* s = c.stream_of(id);
    if (!s || !s->inner.is_open()) {
        nghttp2_session_consume(session, id, len);
        return 0;
    }
    s->answer.append_data(data, len);
    return 0;
}

int ClientSession::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* self) {
    auto& c = *static_cast<ClientSession*>(self);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end()) return 0;
    UpStream& s = *it->second;
    s.closed = true;
    if (!s.answer_done) {
        // Reset or refused: the exchange sees its connection end short of an answer (before a
        // head it fails over; after, it ends the client's stream with an error event).
        spdlog::debug("h2 upstream {} stream {} closed before its answer ended (error {})", c.key_, id, error_code);
        beast::error_code ignored;
        s.inner.close(ignored);
    }
    s.request.room.notify();
    s.answer.ready.notify();
    c.streams_.erase(it);
    c.update_idle();
    if (c.streams_.empty() && (c.retiring_ || c.goaway_)) c.shut_down();
    return 0;
}

bool ClientSession::start() {
    nghttp2_session_callbacks* cbs = nullptr;
    if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);  // answer bytes count once the exchange has them
    const int rv = nghttp2_session_client_new2(&session_, cbs, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) return false;
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
    };
    if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) != 0) return false;
    nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
    auto self = shared_from_this();
    tasks_ += 2;
    net::co_spawn(ioc_, [self]() -> net::awaitable<void> { co_await self->writer(); }, log_task_end);
    net::co_spawn(ioc_, [self]() -> net::awaitable<void> { co_await self->reader(); }, log_task_end);
    update_idle();
    return true;
}

void ClientSession::update_idle() {
    if (dead_) return;
    if (streams_.empty() && reserved_ == 0) {
        tls_->next_layer().expires_after(kIdleTimeout);  // closes the connection; the reader ends
    } else {
        tls_->next_layer().expires_never();
    }
}

void ClientSession::shut_down() {
    if (shutting_down_ || dead_) return;
    shutting_down_ = true;
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);  // GOAWAY; the writer then ends
    wake_.notify();
}

std::optional<net::ip::tcp::socket> ClientSession::open() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return std::nullopt;
    auto s = std::make_shared<UpStream>(ioc_);
    beast::error_code ec;
    s->inner.assign(local(), fds[0], ec);
    net::ip::tcp::socket exchange_end(ioc_);
    exchange_end.assign(net::ip::tcp::v4(), fds[1], ec);
    auto self = shared_from_this();
    tasks_ += 2;
    net::co_spawn(ioc_, [self, s]() -> net::awaitable<void> { co_await self->send_request(s); }, log_task_end);
    net::co_spawn(ioc_, [self, s]() -> net::awaitable<void> { co_await self->feed_exchange(s); }, log_task_end);
    ++reserved_;  // room() holds its place until its head is read and submitted
    update_idle();
    return exchange_end;
}

// The exchange's request out of the socket pair: its head as HEADERS, its body as DATA. Then
// the pair is watched: the exchange closing it before the answer ends cancels the stream.
net::awaitable<void> ClientSession::send_request(std::shared_ptr<UpStream> s) {
    beast::flat_buffer buf;
    Http1Reader<true>& reader = s->reader;
    reader.body = &s->request.bytes;
    bool failed = false;
    while (!dead_ && !s->closed && !s->request.done) {
        if (s->request.size() >= kRequestBuffer) {
            co_await s->request.room.wait();
            continue;
        }
        auto [ec, n] = co_await s->inner.async_read_some(buf.prepare(kReadChunk), kTuple);
        if (ec || dead_) {
            failed = true;
            break;
        }
        buf.commit(n);
        beast::error_code pec;
        while (buf.size() > 0 && !reader.is_done()) {
            buf.consume(reader.put(buf.data(), pec));
            if (pec == http::error::need_more) {
                pec = {};
                break;
            }
            if (pec) break;
        }
        if (pec) {
            spdlog::warn("h2 upstream {}: unreadable request from the exchange: {}", key_, pec.message());
            failed = true;
            break;
        }
        if (!reader.is_header_done()) continue;
        if (reader.is_done()) s->request.done = true;
        if (s->id < 0) {
            std::vector<nghttp2_nv> nva;
            std::string_view authority;
            for (const auto& [name, value] : reader.fields) {
                if (name == "host") authority = value;
            }
            nva.push_back(field(":method", reader.method));
            nva.push_back(field(":scheme", "https"));
            nva.push_back(field(":authority", authority));
            nva.push_back(field(":path", reader.target));
            for (const auto& [name, value] : reader.fields) {
                // The authority is :authority's; te and expect are HTTP/1.1's.
                if (name != "host" && name != "te" && name != "expect") nva.push_back(field(name, value));
            }
            const bool no_body = s->request.done && s->request.size() == 0;
            const nghttp2_data_provider provider = s->request.provider();
            const std::int32_t id =
                nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), no_body ? nullptr : &provider, s.get());
            --reserved_;
            if (id < 0) {
                spdlog::debug("h2 upstream {}: no stream: {}", key_, nghttp2_strerror(id));
                failed = true;
                break;
            }
            s->id = id;
            streams_.emplace(id, s);
        } else {
            nghttp2_session_resume_data(session_, s->id);
        }
        wake_.notify();
    }
    if (s->id < 0) --reserved_;
    if (!failed && !dead_) {
        // Watch for the exchange giving up (its client went away): nothing more is read from
        // the pair after a complete request, so any end of the read is that.
        std::array<char, 256> sink;
        for (;;) {
            auto [ec, n] = co_await s->inner.async_read_some(net::buffer(sink), kTuple);
            if (ec) break;
        }
    }
    if (!dead_ && s->id > 0 && !s->closed && !s->answer_done) {
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
        wake_.notify();
    }
    beast::error_code ignored;
    s->inner.close(ignored);
    s->answer.ready.notify();
    update_idle();
    --tasks_;
    wake_.notify();
}

// The stream's answer into the socket pair, as HTTP/1.1; DATA bytes go back to the server's
// window once written.
net::awaitable<void> ClientSession::feed_exchange(std::shared_ptr<UpStream> s) {
    co_await feed_pair(s->inner, s->answer, session_, s->id, dead_, wake_,
                       [&] { return s->answer_done || s->closed || !s->inner.is_open(); });
    --tasks_;
    wake_.notify();
}

net::awaitable<void> ClientSession::writer() {
    std::string out;
    while (!dead_) {
        if (!co_await send_frames(*tls_, session_, out)) break;
        if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
        co_await wake_.wait();
    }
    dead_ = true;
    tls_->next_layer().cancel();  // the reader's pending read ends
    for (auto& [id, s] : streams_) {
        beast::error_code ignored;
        s->inner.close(ignored);
        s->request.room.notify();
        s->answer.ready.notify();
    }
    --tasks_;
    // The stream tasks end once their pairs are closed; the connection closes after them.
    while (tasks_ > 1) co_await wake_.wait();
    beast::error_code ignored;
    tls_->next_layer().socket().close(ignored);
    --tasks_;
}

net::awaitable<void> ClientSession::reader() {
    std::array<char, kReadChunk> buf;
    while (!dead_) {
        auto [ec, n] = co_await tls_->async_read_some(net::buffer(buf), kTuple);
        if (ec || dead_) break;
        if (nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(buf.data()), n) < 0) break;
        wake_.notify();
    }
    dead_ = true;
    wake_.notify();
    --tasks_;
}

Upstreams::Upstreams(net::io_context& ioc) : ioc_(ioc) {}
Upstreams::~Upstreams() = default;

std::optional<net::ip::tcp::socket> Upstreams::open_stream(const std::string& key) {
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return std::nullopt;
    auto& list = it->second;
    std::erase_if(list, [](const auto& s) { return s->finished(); });
    // The connection with the most room: streams spread over the connections there are.
    ClientSession* best = nullptr;
    std::size_t best_room = 0;
    for (auto& s : list) {
        if (const std::size_t r = s->room(); r > best_room) {
            best = s.get();
            best_room = r;
        }
    }
    if (!best) return std::nullopt;
    return best->open();
}

void Upstreams::adopt(const std::string& key, std::unique_ptr<TlsStream> tls) {
    auto session = std::make_shared<ClientSession>(ioc_, key, std::move(tls));
    if (!session->start()) return;
    ++connections_opened_;
    sessions_[key].push_back(std::move(session));
}

bool Upstreams::connecting(const std::string& key) const {
    auto it = connecting_.find(key);
    return it != connecting_.end() && it->second.active;
}

void Upstreams::begin_connect(const std::string& key) {
    Connecting& c = connecting_[key];
    c.active = true;
    c.result = {};
    c.done = std::make_shared<net::steady_timer>(ioc_, net::steady_timer::time_point::max());
}

void Upstreams::end_connect(const std::string& key, boost::system::error_code ec, bool h1) {
    Connecting& c = connecting_[key];
    c.active = false;
    c.result = ec;
    if (h1) h1_[key] = true;
    if (c.done) c.done->cancel();
}

net::awaitable<boost::system::error_code> Upstreams::wait_connect(const std::string& key) {
    auto it = connecting_.find(key);
    if (it == connecting_.end() || !it->second.active) co_return boost::system::error_code{};
    auto done = it->second.done;
    co_await done->async_wait(kTuple);
    co_return connecting_[key].result;
}

void Upstreams::retire() {
    for (auto& [key, list] : sessions_) {
        for (auto& s : list) s->retire();
    }
    sessions_.clear();
}

}  // namespace ccr::worker::h2
