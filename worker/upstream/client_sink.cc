#include "worker/upstream/client_sink.h"

#include <algorithm>
#include <charconv>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "shared/error/error.h"
#include "worker/client_stream.h"
#include "worker/request.h"
#include "worker/runtime.h"
#include "worker/transfer.h"

namespace ccr::worker::upstream {

namespace net = boost::asio;
using clock = std::chrono::steady_clock;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);

namespace {

// `out` becomes a chunk's size line, "<size in hex>\r\n" (to_chars: snprintf took ~300
// instructions a piece).
void set_chunk_size_line(std::string& out, std::size_t n) {
    char buf[24];
    char* end = std::to_chars(buf, buf + 16, n, 16).ptr;  // at most 16 hex digits
    *end++ = '\r';
    *end++ = '\n';
    out.assign(buf, end);
}

}  // namespace

ClientSink::ClientSink(ClientStream& client,
                       RequestContext& ctx,
                       std::string head,
                       bool chunked,
                       bool sse,
                       UsageTap::Mode tap_mode)
    : client_(client), ctx_(ctx), head_(std::move(head)), chunked_(chunked), sse_(sse), tap_(tap_mode) {}

std::span<const net::const_buffer> ClientSink::frame(std::span<const char> bytes, bool last, std::size_t readable) {
    const std::size_t got = bytes.size();
    if (got == 0 && !head_pending_ && !(last && chunked_)) return {};
    std::size_t n = 0;
    if (head_pending_) {
        // The first byte is handed to the client now (the attempt may be settled before the
        // write completes: settle.h).
        out_[n++] = net::buffer(head_);
        ctx_.rec.ttfb = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - ctx_.start);
        head_pending_ = false;
    }
    if (got > 0) {
        const std::string_view piece(bytes.data(), got);
        if (last) {
            tap_.feed_last(piece, std::max(readable, got));
        } else {
            tap_.feed(piece);
        }
        if (can_end_with_event()) tail_.feed(piece);
        if (chunked_) {
            set_chunk_size_line(chunk_head_, got);
            out_[n++] = net::buffer(chunk_head_);
            out_[n++] = net::buffer(bytes.data(), got);
            out_[n++] = net::buffer("\r\n", 2);
        } else {
            out_[n++] = net::buffer(bytes.data(), got);
        }
    }
    if (last && chunked_) out_[n++] = net::buffer("0\r\n\r\n", 5);
    client_.expires_at(ctx_.deadline);
    return std::span(out_.data(), n);
}

bool ClientSink::written(std::size_t bytes, const boost::system::error_code& ec) {
    ctx_.rec.bytes_out += bytes;
    if (ec) {
        // The client went away mid-answer: the caller stops reading the upstream.
        ctx_.keep_alive = false;
        return false;
    }
    return true;
}

net::awaitable<void> ClientSink::end_with_error_event(shared::Errc code, std::string_view message) {
    std::string event(tail_.separator());
    event += "event: error\ndata: ";
    event += shared::error_body(code, message, ctx_.request_id);
    event += "\n\n";
    std::string chunk;
    set_chunk_size_line(chunk, event.size());
    chunk += event;
    chunk += "\r\n0\r\n\r\n";
    client_.expires_after(Runtime::kCutGrace);
    // A client that does not take it is closed by the runtime when the grace ends.
    auto [ec, n] = co_await net::async_write(client_, net::buffer(chunk), kTuple);
    if (ec) spdlog::debug("rid={} terminal event not delivered: {}", ctx_.request_id, ec.message());
}

const Usage& ClientSink::finish_usage() {
    tap_.finish();
    return tap_.usage();
}

void ClientSink::SseTail::feed(std::string_view bytes) {
    tail_ += bytes.substr(bytes.size() > kKeep ? bytes.size() - kKeep : 0);
    if (tail_.size() > kKeep) tail_.erase(0, tail_.size() - kKeep);
}

std::string_view ClientSink::SseTail::separator() const {
    // Nothing at an event boundary (or before the first byte), else the line ends that close
    // the event in progress. A trailing CR may be the first half of a CRLF, so it is not counted
    // as a line end.
    const std::string_view t = tail_;
    if (t.empty() || t.ends_with("\n\n") || t.ends_with("\r\r") || t.ends_with("\n\r") ||
        t.ends_with("\r\n\r\n"))
        return {};
    if (t.ends_with('\n')) return "\n";
    return "\n\n";
}

}  // namespace ccr::worker::upstream
