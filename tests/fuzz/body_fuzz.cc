// The request-body readers and splicers (worker/body.h, worker/thinking.h) on any body, run the
// way the providers run them: model mapping, the billing block, stripped thinking blocks, and
// Bedrock's and Vertex's member edits (remove `model`/`stream`, add `anthropic_version`).
// Asserts: inspect_body reads no byte past the body (an exact-size copy, for ASan); the model's
// byte range holds the model as a JSON string; and, when the body is valid
// JSON, every edit is accepted and each edited body is valid JSON whose top-level members are
// the original ones, less those removed, after those added, with the model the mapping chose and
// no thinking block left in an assistant message once they were stripped. And check_json
// (worker/json_check.h), on every input, valid or not: each block kernel this CPU runs finds the
// same fault, offset and message, as the byte-at-a-time checker it replaced
// (tests/worker/json_check_reference.h), reading a copy of exactly the input's size so ASan sees
// any read past it.

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/check.h"
#include "tests/worker/json_check_reference.h"
#include "worker/body.h"
#include "worker/json_scan.h"
#include "worker/thinking.h"

namespace {

using namespace ccr::worker;

constexpr std::string_view kMapped = "\"mapped-model\"";
constexpr std::string_view kAdd = R"("anthropic_version":"bedrock-2023-05-31")";

JsonParser& parser() {
    static auto p = make_json_parser();
    return *p;
}

simdjson::dom::parser& dom() {
    static simdjson::dom::parser p;
    return p;
}

// Top-level member names (unescaped, in order, duplicates kept); nullopt when not valid JSON.
std::optional<std::vector<std::string>> keys_of(std::string_view json) {
    simdjson::dom::element doc;
    if (dom().parse(json.data(), json.size()).get(doc)) return std::nullopt;
    simdjson::dom::object obj;
    if (doc.get(obj)) return std::nullopt;
    std::vector<std::string> keys;
    for (auto field : obj) keys.emplace_back(field.key);
    return keys;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& k : v) s += "[" + k + "]";
    return s;
}

void expect_keys(std::string_view edited, const std::vector<std::string>& want, const char* what) {
    const auto got = keys_of(edited);
    FUZZ_CHECK(got.has_value(), "%s: the edited body is not valid JSON:\n%.*s", what,
               static_cast<int>(edited.size()), edited.data());
    FUZZ_CHECK(*got == want, "%s: members %s, expected %s:\n%.*s", what, join(*got).c_str(),
               join(want).c_str(), static_cast<int>(edited.size()), edited.data());
}

std::vector<std::string> without(std::vector<std::string> keys, std::initializer_list<std::string_view> drop) {
    std::erase_if(keys, [&](const std::string& k) {
        return std::find(drop.begin(), drop.end(), k) != drop.end();
    });
    return keys;
}

void expect_no_thinking(std::string_view edited) {
    std::string padded(edited);
    const ThinkingInfo again = scan_thinking(parser(), padded, padded.size());
    FUZZ_CHECK(again.valid && !again.has_thinking, "thinking blocks left after stripping:\n%s",
               padded.c_str());
}

// Every top-level "model" of the edited body is the mapped one (the upstream reads the body with
// its own parser, which may take any of them).
void expect_model(std::string_view edited) {
    simdjson::dom::element doc;
    simdjson::dom::object obj;
    FUZZ_CHECK(!dom().parse(edited.data(), edited.size()).get(doc) && !doc.get(obj), "not JSON");
    for (auto field : obj) {
        if (field.key != "model") continue;
        std::string_view v;
        FUZZ_CHECK(!field.value.get(v) && v == kMapped.substr(1, kMapped.size() - 2),
                   "a model member escaped the mapping:\n%.*s", static_cast<int>(edited.size()),
                   edited.data());
    }
}

void check_edits(std::string_view body, const BodyInfo& info, const std::vector<std::string>& keys) {
    const BodyLayout layout = layout_body(parser(), body, body.size());
    FUZZ_CHECK(layout.members.size() == keys.size(), "layout has %zu members, the body %zu",
               layout.members.size(), keys.size());
    const bool billing = layout.billing_block.length > 0;
    const ThinkingInfo thinking = scan_thinking(parser(), body, body.size());
    FUZZ_CHECK(thinking.valid, "scan_thinking refused a valid body");
    FUZZ_CHECK(!thinking.has_thinking || may_carry_thinking_blocks(body),
               "the pre-check missed thinking blocks");

    // Any provider: the model mapped, the billing block dropped, thinking stripped.
    {
        BodySplice s(body);
        FUZZ_CHECK(s.replace(info.model_offset, info.model_length, std::string(kMapped)), "model edit");
        if (billing)
            FUZZ_CHECK(s.replace(layout.billing_block.offset, layout.billing_block.length, {}), "billing");
        FUZZ_CHECK(strip_thinking(thinking, s), "strip_thinking refused its own edits");
        const std::string edited = s.str();
        FUZZ_CHECK(edited.size() == s.size(), "size() %zu, str() %zu", s.size(), edited.size());
        expect_keys(edited, keys, "mapped");
        expect_model(edited);
        if (thinking.has_thinking) expect_no_thinking(edited);
    }
    // Bedrock: model and stream out, the version in.
    {
        BodySplice s(body);
        if (billing)
            FUZZ_CHECK(s.replace(layout.billing_block.offset, layout.billing_block.length, {}), "billing");
        FUZZ_CHECK(strip_thinking(thinking, s), "strip_thinking");
        FUZZ_CHECK(edit_members(layout, {"model", "stream"}, std::string(kAdd), s), "bedrock edits");
        std::vector<std::string> want{"anthropic_version"};
        for (const auto& k : without(keys, {"model", "stream"})) want.push_back(k);
        expect_keys(s.str(), want, "bedrock");
    }
    // Vertex count_tokens: the model mapped in place, the version added.
    {
        BodySplice s(body);
        FUZZ_CHECK(s.replace(info.model_offset, info.model_length, std::string(kMapped)), "model edit");
        FUZZ_CHECK(edit_members(layout, {}, std::string(kAdd), s), "vertex count edits");
        std::vector<std::string> want{"anthropic_version"};
        for (const auto& k : keys) want.push_back(k);
        expect_keys(s.str(), want, "vertex count_tokens");
    }
    // Removing everything but nothing added leaves `{}`-like JSON.
    {
        BodySplice s(body);
        FUZZ_CHECK(edit_members(layout, {"model", "stream", "messages", "system", "max_tokens",
                                         "thinking", "metadata", "tools"},
                                {}, s),
                   "removals");
        expect_keys(s.str(),
                    without(keys, {"model", "stream", "messages", "system", "max_tokens", "thinking",
                                   "metadata", "tools"}),
                    "removals");
    }
}

void check_kernels(const std::uint8_t* data, std::size_t size) {
    const auto tight = std::make_unique<char[]>(size);
    if (size) std::memcpy(tight.get(), data, size);
    const std::string_view text(tight.get(), size);
    const JsonFault want = reference::check_json(text);
    for (const JsonKernel kernel :
         {JsonKernel::best, JsonKernel::avx2, JsonKernel::sse2, JsonKernel::portable}) {
        if (!json_kernel_available(kernel)) continue;
        const JsonFault got =
            kernel == JsonKernel::best ? check_json(text) : check_json(text, kMaxJsonDepth, kernel);
        FUZZ_CHECK(got.offset == want.offset && got.what == want.what,
                   "check_json kernel %d: %zu %s, the byte-at-a-time reading: %zu %s",
                   static_cast<int>(kernel), got.offset, got.what.c_str(), want.offset,
                   want.what.c_str());
        // Valid text: UTF-8 validation (inspect_body) may start at the 64-byte block of the
        // first byte >= 0x80, and nowhere later.
        if (!want) {
            std::size_t high = 0;
            while (high < size && static_cast<unsigned char>(text[high]) < 0x80) ++high;
            const std::size_t expected = high == size ? size : high / 64 * 64;
            FUZZ_CHECK(got.ascii_prefix == expected, "check_json kernel %d: ascii_prefix %zu, expected %zu",
                       static_cast<int>(kernel), got.ascii_prefix, expected);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check_kernels(data, size);
    // The body with simdjson's padding behind it (the session's buffer), for the readers that
    // use it; inspect_body reads an exact-size copy, so ASan sees a read past its end.
    auto padded = std::make_unique<char[]>(size + kJsonPadding);
    if (size) std::memcpy(padded.get(), data, size);
    const std::string_view body(padded.get(), size);
    const std::string exact(reinterpret_cast<const char*>(data), size);
    auto exact_heap = std::make_unique<char[]>(size);
    if (size) std::memcpy(exact_heap.get(), data, size);

    const BodyInfo info = inspect_body(parser(), std::string_view(exact_heap.get(), size));
    (void)estimate_input_tokens(parser(), body, size + kJsonPadding);
    (void)may_carry_thinking_blocks(body);
    (void)scan_thinking(parser(), exact, exact.size());
    if (!info.valid) return 0;

    FUZZ_CHECK(info.model_length >= 2 && info.model_offset + info.model_length <= size,
               "model range %zu+%zu", info.model_offset, info.model_length);
    const std::string_view literal = body.substr(info.model_offset, info.model_length);
    FUZZ_CHECK(literal.front() == '"' && literal.back() == '"', "model range is not a string");

    const auto keys = keys_of(exact);
    if (!keys) return 0;  // inspect_body reads only the top level; the upstream judges the rest
    simdjson::dom::element lit;
    std::string_view model;
    FUZZ_CHECK(!dom().parse(literal.data(), literal.size()).get(lit) && !lit.get(model) &&
                   model == info.model,
               "the model's range does not hold the model");
    check_edits(exact, info, *keys);
    return 0;
}
