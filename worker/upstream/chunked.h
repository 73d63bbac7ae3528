#pragma once

// The upstream's chunked body (RFC 9112 §7.1), decoded as it arrives. Every streamed answer is
// chunked, one event or a few per chunk; Beast's parser took ~350 instructions per chunk (its
// general state machine, a put per chunk header and per data piece, error codes built and
// compared on each), a fifth of a 50-event stream's instructions (bench/analysis.md, row 22).
// Here a chunk whole in the input is taken in one step (its size line read, its data copied with
// one memcpy, its CRLF checked); only a chunk cut by a read, an extension or the trailers go
// through the byte-at-a-time state machine (row 25: ~200 instructions per chunk before).
//
// Extensions and trailer fields are skipped, not interpreted (nothing downstream reads them),
// each bounded in size; a bare LF, a size that is not hex or overflows, or data not followed by
// CRLF fails the body, as Beast's parser does.

#include <cstddef>
#include <cstdint>
#include <span>

namespace ccr::worker::upstream {

class ChunkedDecoder {
public:
    struct Step {
        std::size_t used = 0;      // bytes of the input consumed
        std::size_t produced = 0;  // body bytes written to the output
    };

    // Decodes from `in` into `out` until the input is used up, the output is full, the body
    // ends or fails. What was produced before a failure is good body.
    Step decode(std::span<const char> in, std::span<char> out);

    bool done() const { return state_ == State::done; }
    bool failed() const { return state_ == State::failed; }

    // Bounds of a chunk's size line (digits and extensions) and of the whole trailer section.
    static constexpr std::size_t kMaxExtension = 4096;
    static constexpr std::size_t kMaxTrailers = 16 * 1024;

private:
    enum class State : unsigned char {
        size,         // hex digits of a chunk size
        size_ws,      // spaces or tabs after them, then ';'
        extension,    // after ';', until the size line's CR
        size_lf,      // the size line's LF
        data,         // `remaining_` bytes of chunk data
        data_cr,      // the CRLF after a chunk's data
        data_lf,
        trailer,      // at the start of a trailer line, or of the final CRLF
        trailer_line, // inside a trailer field line
        trailer_lf,
        final_lf,     // the LF of the body's last CRLF
        done,
        failed,
    };
    State state_ = State::size;
    std::uint64_t remaining_ = 0;
    std::size_t section_ = 0;  // bytes of the current size line, or of the trailers so far
};

}  // namespace ccr::worker::upstream
