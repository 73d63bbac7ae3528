#pragma once
// Step 3 of the request path: read what routing needs from the request body (model, stream) with
// simdjson on-demand, and describe edits as splices into the original bytes. The body is never
// re-serialised, so every byte we do not edit reaches the upstream unchanged.

#include <cstddef>
#include <initializer_list>
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
    // Holds `model` when it had escapes. On the heap and shared, so that `model` stays valid when
    // a BodyInfo is copied or moved (a string's own buffer would move with a short name).
    std::shared_ptr<const std::string> model_buf;
    bool may_carry_thinking = false;  // check_json saw a thinking block's type (thinking.h)
};

/// Validates `body` (UTF-8, then the JSON grammar with check_json) and reads its top level: one
/// pass over the body besides the UTF-8 check, and no copy of it.
BodyInfo inspect_body(JsonParser& parser, std::string_view body);

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
    /// The same, appended to `out` (a vector or small_vector of const_buffer).
    template <class Buffers>
    void append_buffers(Buffers& out) const {
        std::size_t pos = 0;
        for (const auto& e : edits_) {
            out.emplace_back(original_.data() + pos, e.offset - pos);
            out.emplace_back(e.text.data(), e.text.size());
            pos = e.offset + e.length;
        }
        out.emplace_back(original_.data() + pos, original_.size() - pos);
    }
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

/// A byte range of the body.
struct ByteSpan {
    std::size_t offset = 0;
    std::size_t length = 0;
};

/// Where the top-level members of a (valid, inspected) body are, and Claude Code's billing block,
/// for the adapters that rewrite the body's shape (Bedrock, Vertex) or drop that block.
struct BodyLayout {
    struct Member {
        std::string_view key;  // raw key (escapes not undone: the keys read here have none)
        std::size_t start;     // its opening quote
        std::size_t end;       // one past its value
    };
    std::size_t open = 0;         // the top-level '{'
    std::vector<Member> members;  // in order
    /// `system[i]` whose text starts with `x-anthropic-billing-header`, with the comma that
    /// separates it from a neighbour: removing it leaves a valid array. Length 0: none.
    ByteSpan billing_block;
    bool has(std::string_view key) const;
};
/// Reads the layout of a body inspect_body() accepted.
BodyLayout layout_body(JsonParser& parser, std::string_view body, std::size_t capacity);

/// Adds to `splice` the edits that remove the top-level members named in `remove` and add
/// `add` (comma-separated `"key":value` members, may be empty) after the opening brace, leaving
/// valid JSON. False when an edit collides with one already in the splice.
bool edit_members(const BodyLayout& layout,
                  std::initializer_list<std::string_view> remove,
                  std::string add,
                  BodySplice& splice);

/// Rough local token estimate for /v1/messages/count_tokens when no provider serves it: text
/// characters / 4, from every string in the body except keys and the model name. Never 0.
std::size_t estimate_input_tokens(JsonParser& parser,
                                  std::string_view body,
                                  std::size_t capacity);

}  // namespace ccr::worker
