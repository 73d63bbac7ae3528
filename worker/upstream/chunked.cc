#include "worker/upstream/chunked.h"

#include <algorithm>
#include <cstring>

namespace ccr::worker::upstream {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

ChunkedDecoder::Step ChunkedDecoder::decode(std::span<const char> in, std::span<char> out) {
    const char* p = in.data();
    const char* const end = p + in.size();
    char* o = out.data();
    char* const out_end = o + out.size();
    auto fail = [&] { state_ = State::failed; };
    while (p < end && state_ != State::done && state_ != State::failed) {
        switch (state_) {
            case State::data: {
                if (o == out_end) goto stop;
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
                const int v = hex_value(*p);
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
                if (*p == '\r') {
                    state_ = State::size_lf;
                } else if (*p == '\n' || ++section_ > kMaxExtension) {
                    fail();
                    break;
                }
                ++p;
                break;
            case State::size_lf:
                if (*p != '\n') {
                    fail();
                    break;
                }
                ++p;
                section_ = 0;
                state_ = remaining_ == 0 ? State::trailer : State::data;
                break;
            case State::data_cr:
                if (*p != '\r') {
                    fail();
                    break;
                }
                ++p;
                state_ = State::data_lf;
                break;
            case State::data_lf:
                if (*p != '\n') {
                    fail();
                    break;
                }
                ++p;
                section_ = 0;
                state_ = State::size;
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
                if (*p == '\r') {
                    state_ = State::trailer_lf;
                } else if (*p == '\n' || ++section_ > kMaxTrailers) {
                    fail();
                    break;
                }
                ++p;
                break;
            case State::trailer_lf:
                if (*p != '\n') {
                    fail();
                    break;
                }
                ++p;
                state_ = State::trailer;
                break;
            case State::final_lf:
                if (*p != '\n') {
                    fail();
                    break;
                }
                ++p;
                state_ = State::done;
                break;
            case State::done:
            case State::failed:
                break;
        }
    }
stop:
    return {static_cast<std::size_t>(p - in.data()), static_cast<std::size_t>(o - out.data())};
}

}  // namespace ccr::worker::upstream
