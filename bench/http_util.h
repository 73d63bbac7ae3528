#pragma once
// Small HTTP/1.1 helpers shared by the bench backend and load tool. Hand-written on purpose: the
// bench tools must cost less CPU than what they measure, so they do not run a general parser.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace ccr::bench {

inline bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
        if (x != y) return false;
    }
    return true;
}

inline std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

/// The parts of a message head the bench tools care about. `first_line` is the request line or
/// the status line.
struct Head {
    std::string_view first_line;
    int64_t content_length = -1;
    bool chunked = false;
    bool close = false;
    int64_t delay_ms = -1;  // x-bench-delay-ms
    int64_t events = -1;    // x-bench-events
};

inline int64_t to_int(std::string_view v) {
    int64_t n = 0;
    bool any = false;
    for (char c : v) {
        if (c < '0' || c > '9') break;
        n = n * 10 + (c - '0');
        any = true;
    }
    return any ? n : -1;
}

/// Parses a head (without the final blank line).
inline Head parse_head(std::string_view head) {
    Head h;
    size_t eol = head.find("\r\n");
    h.first_line = head.substr(0, eol);
    size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        size_t end = head.find("\r\n", pos);
        if (end == std::string_view::npos) end = head.size();
        std::string_view line = head.substr(pos, end - pos);
        pos = end + 2;
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = line.substr(0, colon);
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "content-length")) {
            h.content_length = to_int(value);
        } else if (iequals(name, "transfer-encoding")) {
            h.chunked = value.find("chunked") != std::string_view::npos;
        } else if (iequals(name, "connection")) {
            h.close = iequals(value, "close");
        } else if (iequals(name, "x-bench-delay-ms")) {
            h.delay_ms = to_int(value);
        } else if (iequals(name, "x-bench-events")) {
            h.events = to_int(value);
        }
    }
    return h;
}

/// Incremental chunked-transfer decoder: feed it raw bytes, it hands decoded data to a callback
/// and says when the terminating chunk (and its trailer) has been read.
class ChunkDecoder {
  public:
    /// Returns the number of bytes of `in` consumed, or -1 on a malformed stream. `on_data` gets
    /// each piece of decoded payload.
    template <typename OnData>
    int64_t feed(std::string_view in, OnData&& on_data) {
        size_t i = 0;
        while (i < in.size() && state_ != State::kDone) {
            switch (state_) {
                case State::kSize: {
                    char c = in[i++];
                    if (c == '\n') {
                        if (!size_digits_) return -1;
                        state_ = remaining_ == 0 ? State::kTrailer : State::kData;
                        line_len_ = 0;
                    } else if (c == ';' || c == '\r' || c == ' ') {
                        in_ext_ = true;
                    } else if (!in_ext_) {
                        int d = hex_value(c);
                        if (d < 0 || remaining_ > (uint64_t{1} << 40)) return -1;
                        remaining_ = remaining_ * 16 + static_cast<uint64_t>(d);
                        ++size_digits_;
                    }
                    break;
                }
                case State::kData: {
                    size_t n = in.size() - i;
                    if (n > remaining_) n = static_cast<size_t>(remaining_);
                    on_data(in.substr(i, n));
                    i += n;
                    remaining_ -= n;
                    if (remaining_ == 0) state_ = State::kDataEnd;
                    break;
                }
                case State::kDataEnd: {
                    char c = in[i++];
                    if (c == '\n')
                        reset_size();
                    else if (c != '\r')
                        return -1;
                    break;
                }
                case State::kTrailer: {
                    // Trailer lines end with an empty line.
                    char c = in[i++];
                    if (c == '\n') {
                        if (line_len_ == 0) state_ = State::kDone;
                        line_len_ = 0;
                    } else if (c != '\r') {
                        ++line_len_;
                    }
                    break;
                }
                case State::kDone:
                    break;
            }
        }
        return static_cast<int64_t>(i);
    }
    bool done() const { return state_ == State::kDone; }
    void reset() {
        reset_size();
        state_ = State::kSize;
    }

  private:
    enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
    static int hex_value(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    void reset_size() {
        state_ = State::kSize;
        remaining_ = 0;
        size_digits_ = 0;
        in_ext_ = false;
    }
    State state_ = State::kSize;
    uint64_t remaining_ = 0;
    int size_digits_ = 0;
    bool in_ext_ = false;
    size_t line_len_ = 0;
};

}  // namespace ccr::bench
