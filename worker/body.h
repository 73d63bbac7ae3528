#pragma once
// Step 3 of the request path: read what routing needs from the request body (model, stream) with
// simdjson on-demand, and describe edits as splices into the original bytes. The body is never
// re-serialised, so every byte we do not edit reaches the upstream unchanged.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>

namespace ccr::worker {

/// A reusable simdjson on-demand parser (kept opaque so simdjson.h stays out of headers).
class JsonParser;
struct JsonParserDeleter {
    void operator()(JsonParser* p) const;
};
std::unique_ptr<JsonParser, JsonParserDeleter> make_json_parser();

/// Extra bytes simdjson may read past the end of the body; reserve them in the body's buffer.
inline constexpr std::size_t kJsonPadding = 64;

struct BodyInfo {
    bool valid = false;        // a JSON object that parsed
    std::string error;         // why not (for the 400 body)
    std::string_view model;    // unescaped value of "model" (points into the body, or into model_buf)
    bool stream = false;
    std::uint64_t max_tokens = 0;  // 0: absent or not a number (the upstream says why)
    std::size_t model_offset = 0;  // byte range of the model's JSON string literal, quotes included
    std::size_t model_length = 0;
    std::string model_buf;         // holds `model` when it had escapes
};

/// Parses the top level of `body`. `capacity` is the allocated size behind body.data(); when it
/// leaves at least kJsonPadding spare bytes, no copy is made.
BodyInfo inspect_body(JsonParser& parser, std::string_view body, std::size_t capacity);

/// Byte-range replacements over an original body, kept in offset order, sent as a gather list.
class BodySplice {
public:
    explicit BodySplice(std::string_view original) : original_(original) {}
    /// Replace [offset, offset+length) with `replacement` (length 0 inserts, an empty replacement
    /// removes). Edits may be added in any order. An edit that overlaps one already added, or
    /// reaches past the end of the body, is refused (false) and changes nothing.
    bool replace(std::size_t offset, std::size_t length, std::string replacement);
    bool empty() const { return edits_.empty(); }
    std::size_t size() const;
    /// Buffers to write: original pieces interleaved with replacements (no copy of the body).
    std::vector<boost::asio::const_buffer> buffers() const;
    /// The edited body as one string (tests and logging).
    std::string str() const;

private:
    struct Edit {
        std::size_t offset;
        std::size_t length;
        std::string text;
    };
    std::string_view original_;
    std::vector<Edit> edits_;
};

/// Rough local token estimate for /v1/messages/count_tokens when no provider serves it: text
/// characters / 4, from every string in the body except keys and the model name. Never 0.
std::size_t estimate_input_tokens(JsonParser& parser,
                                  std::string_view body,
                                  std::size_t capacity);

}  // namespace ccr::worker
