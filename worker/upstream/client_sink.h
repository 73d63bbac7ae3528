#pragma once
/// Step 6's output: where a committed answer's bytes go. Writes the response head with the first
/// bytes (or alone, at once, when none are ready), frames the body (chunked when the upstream
/// gave no length), feeds the usage tap on the way, and can end a cut SSE stream with a terminal
/// `event: error` instead of a bare truncation.

#include <array>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>

#include "shared/error/error.h"
#include "worker/upstream/usage_tap.h"

namespace ccr::worker {
class ClientStream;
struct RequestContext;
}

namespace ccr::worker::upstream {

class ClientSink {
public:
    /// `head`: the complete response head. `chunked`: frame the body in chunks. `sse`: the body
    /// is an event stream (the tap reads its events; a cut may end it with an error event).
    ClientSink(ClientStream& client,
               RequestContext& ctx,
               std::string head,
               bool chunked,
               bool sse,
               UsageTap::Mode tap_mode);

    /// The next body bytes, framed for the client (the head first if it has not gone yet):
    /// feeds the tap and returns what to write, valid until the next frame() (empty: nothing).
    /// `last`: the body is complete (a chunked body gets its terminating chunk). `readable`: the
    /// bytes readable from `bytes.data()` (0: just `bytes`), which lets the tap read a JSON answer
    /// that came in one piece where it lies (UsageTap::feed_last). The caller
    /// awaits the write itself (the body pump, once per upstream read: no coroutine frame of the
    /// sink's each time) and hands its outcome to written(), which returns false when the client
    /// is gone (the request's connection is then not kept alive).
    std::span<const boost::asio::const_buffer> frame(std::span<const char> bytes, bool last,
                                                     std::size_t readable = 0);
    bool written(std::size_t bytes, const boost::system::error_code& ec);
    ClientStream& client() { return client_; }

    /// Whether a cut can be signalled in-band (an SSE body in chunks).
    bool can_end_with_event() const { return chunked_ && sse_; }
    /// Ends a cut stream with `event: error` (by default overloaded_error, "the relay is shutting
    /// down") and a clean chunked end.
    boost::asio::awaitable<void> end_with_error_event(shared::Errc code = shared::Errc::overloaded,
                                                      std::string_view message = "the relay is shutting down");

    /// The body ended (or was cut): parses a buffered JSON body and returns the usage seen.
    const Usage& finish_usage();

private:
    // The last bytes of an SSE body, enough to tell whether they end an event.
    class SseTail {
    public:
        void feed(std::string_view bytes);
        /// What to write before a new event so that it starts on its own.
        std::string_view separator() const;

    private:
        static constexpr std::size_t kKeep = 4;
        std::string tail_;
    };

    ClientStream& client_;
    RequestContext& ctx_;
    std::string head_;
    bool head_pending_ = true;
    bool chunked_;
    bool sse_;
    UsageTap tap_;
    SseTail tail_;
    std::string chunk_head_;
    std::array<boost::asio::const_buffer, 5> out_{};  // frame()'s buffers
};

}  // namespace ccr::worker::upstream
