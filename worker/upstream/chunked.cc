#include "worker/upstream/chunked.h"

#include <algorithm>
#include <cstring>

#include "shared/util/hex.h"

namespace ccr::worker::upstream {

namespace {

// A whole chunk at `p`: in the input with its CRLF and fitting the output, its size line 1-15 hex
// digits and CRLF (no overflow to check), not the last chunk. Taken into `o` in one go; otherwise
// nothing is moved and the byte-at-a-time machine reads the same bytes to the same result.
bool whole_chunk(const char*& p, const char* end, char*& o, const char* out_end) {
    const char* q = p;
    std::uint64_t size = 0;
    for (int v; q < end && q - p < 15 && (v = shared::hex_value(*q)) >= 0; ++q) size = size << 4 | static_cast<unsigned>(v);
    if (q == p || end - q < 2 || q[0] != '\r' || q[1] != '\n' || size == 0) return false;
    q += 2;
    if (static_cast<std::uint64_t>(end - q) < size + 2 || static_cast<std::uint64_t>(out_end - o) < size) return false;
    if (q[size] != '\r' || q[size + 1] != '\n') return false;
    std::memcpy(o, q, size);
    o += size;
    p = q + size + 2;
    return true;
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::decode(std::span<const char> in, std::span<char> out) {
    const char* p = in.data();
    const char* const end = p + in.size();
    char* o = out.data();
    char* const out_end = o + out.size();
    auto fail = [&] { state_ = State::failed; };
    // The one byte the framing allows here, then `next`.
    auto expect = [&](char c, State next) {
        if (*p != c) return fail();
        ++p;
        state_ = next;
    };
    // An extension list or a trailer line, skipped unread to its CR (then `at_cr`); the section
    // holds `bound` bytes at most.
    auto skip_line = [&](std::size_t bound, State at_cr) {
        if (*p == '\r') {
            state_ = at_cr;
        } else if (*p == '\n' || ++section_ > bound) {
            return fail();
        }
        ++p;
    };
    auto step = [&] { return Step{static_cast<std::size_t>(p - in.data()), static_cast<std::size_t>(o - out.data())}; };
    for (;;) {
        // The common case first, a whole chunk per turn (whole_chunk); anything else is read
        // by the byte-at-a-time machine below, which comes back here at the next size line.
        while (state_ == State::size && section_ == 0 && whole_chunk(p, end, o, out_end)) {
        }
        if (p == end || state_ == State::done || state_ == State::failed) break;
        switch (state_) {
            case State::data: {
                if (o == out_end) return step();  // the caller writes what it has, then comes back
                const auto n = static_cast<std::size_t>(
                    std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(std::min(end - p, out_end - o))));
                std::memcpy(o, p, n);
                o += n;
                p += n;
                remaining_ -= n;
                if (remaining_ == 0) state_ = State::data_cr;
                break;
            }
            case State::size: {
                const int v = shared::hex_value(*p);
                if (v < 0) {
                    if (section_ == 0) {
                        fail();  // no digit
                    } else if (*p == '\r') {
                        state_ = State::size_lf;
                        ++p;
                    } else {
                        state_ = State::size_ws;
                    }
                    break;
                }
                // 16 significant hex digits fill the 64 bits; leading zeros count only against
                // the size line's bound.
                if (++section_ > kMaxExtension || (remaining_ >> 60) != 0) {
                    fail();
                    break;
                }
                remaining_ = remaining_ << 4 | static_cast<unsigned>(v);
                ++p;
                break;
            }
            case State::size_ws:  // BWS, which only an extension list may follow (RFC 9112 §7.1.1)
                if (*p == ';') {
                    state_ = State::extension;
                } else if (*p != ' ' && *p != '\t') {
                    fail();
                    break;
                }
                ++p;
                break;
            case State::extension:
                skip_line(kMaxExtension, State::size_lf);
                break;
            case State::size_lf:
                section_ = 0;
                expect('\n', remaining_ == 0 ? State::trailer : State::data);
                break;
            case State::data_cr:
                expect('\r', State::data_lf);
                break;
            case State::data_lf:
                section_ = 0;
                expect('\n', State::size);
                break;
            case State::trailer:
                if (*p == '\r') {
                    state_ = State::final_lf;
                    ++p;
                } else {
                    state_ = State::trailer_line;
                }
                break;
            case State::trailer_line:
                skip_line(kMaxTrailers, State::trailer_lf);
                break;
            case State::trailer_lf:
                expect('\n', State::trailer);
                break;
            case State::final_lf:
                expect('\n', State::done);
                break;
            case State::done:
            case State::failed:
                break;
        }
    }
    return step();
}

}  // namespace ccr::worker::upstream
