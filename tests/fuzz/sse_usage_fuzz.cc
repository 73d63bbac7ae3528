// The usage tap (worker/upstream/usage_tap.h) on any response body, as SSE and as JSON.
// Asserts: the same usage whether the body arrives whole (its lines found by the search for
// "message_"), byte by byte (every line carried across pieces) or cut at input-chosen points; and
// a well-formed message_start / message_delta pair sent after any junk (once a newline ends the
// junk's last line) yields exactly its numbers, so no input can leave the tap in a state that
// misreads the events after it. As JSON, a body simdjson's DOM parser accepts gives the usage the DOM reads
// (the tap reads it On-Demand, skipping what it does not need).

#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "tests/fuzz/check.h"
#include "tests/fuzz/splits.h"
#include "worker/upstream/usage_tap.h"

namespace {

using ccr::worker::Usage;
using ccr::worker::UsageTap;

bool same(const Usage& a, const Usage& b) {
    return a.input_tokens == b.input_tokens && a.output_tokens == b.output_tokens &&
           a.cache_read_input_tokens == b.cache_read_input_tokens &&
           a.cache_creation_input_tokens == b.cache_creation_input_tokens;
}

struct Tapped {
    Usage usage;
};

template <class Feed>
Tapped tap(UsageTap::Mode mode, Feed feed) {
    UsageTap t(mode);
    feed(t);
    t.finish();
    return {t.usage()};
}

void check_split_invariance(UsageTap::Mode mode, std::string_view body) {
    const Tapped whole = tap(mode, [&](UsageTap& t) { t.feed(body); });
    const Tapped bytes = tap(mode, [&](UsageTap& t) {
        for (std::size_t i = 0; i < body.size(); ++i) t.feed(body.substr(i, 1));
    });
    const Tapped cut = tap(mode, [&](UsageTap& t) {
        for (std::string_view p : ccr::fuzz::pieces(body, ccr::fuzz::cut_points(body, 3))) t.feed(p);
    });
    FUZZ_CHECK(same(whole.usage, bytes.usage) && same(whole.usage, cut.usage),
               "usage depends on the chunking (mode %d)", static_cast<int>(mode));
}

// Numbers from the input (so the fuzzer varies them), bounded to what JSON carries exactly.
Usage numbers_of(std::string_view data) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : data) h = (h ^ c) * 1099511628211ull;
    Usage u;
    u.input_tokens = static_cast<std::int64_t>(h % 1000003);
    u.cache_read_input_tokens = static_cast<std::int64_t>((h >> 20) % 100003);
    u.cache_creation_input_tokens = static_cast<std::int64_t>((h >> 40) % 10007);
    u.output_tokens = static_cast<std::int64_t>((h >> 8) % 65537);
    return u;
}

void check_known_events_after_junk(std::string_view junk) {
    const Usage want = numbers_of(junk);
    const std::string eol = junk.size() % 2 ? "\r\n" : "\n";
    std::string body(junk);
    body += eol + eol;
    body += "event: message_start" + eol + "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
            "\"usage\":{\"input_tokens\":" + std::to_string(want.input_tokens) +
            ",\"cache_creation_input_tokens\":" + std::to_string(want.cache_creation_input_tokens) +
            ",\"cache_read_input_tokens\":" + std::to_string(want.cache_read_input_tokens) +
            ",\"output_tokens\":1}}}" + eol + eol;
    body += "event: message_delta" + eol + "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
            "\"end_turn\"},\"usage\":{\"output_tokens\":" + std::to_string(want.output_tokens) + "}}" +
            eol + eol;
    body += "event: message_stop" + eol + "data: {\"type\":\"message_stop\"}" + eol + eol;
    const Tapped got = tap(UsageTap::Mode::sse, [&](UsageTap& t) {
        for (std::string_view p : ccr::fuzz::pieces(body, ccr::fuzz::cut_points(body, 4))) t.feed(p);
    });
    FUZZ_CHECK(same(got.usage, want),
               "after %zu bytes of junk: input %lld/%lld output %lld/%lld cache_read %lld/%lld "
               "cache_creation %lld/%lld",
               junk.size(), static_cast<long long>(got.usage.input_tokens),
               static_cast<long long>(want.input_tokens), static_cast<long long>(got.usage.output_tokens),
               static_cast<long long>(want.output_tokens),
               static_cast<long long>(got.usage.cache_read_input_tokens),
               static_cast<long long>(want.cache_read_input_tokens),
               static_cast<long long>(got.usage.cache_creation_input_tokens),
               static_cast<long long>(want.cache_creation_input_tokens));
}

// The reference: a DOM of the whole body, then its top-level usage's integer counts (the first
// of a repeated name, as DOM lookups find).
bool dom_usage(std::string_view body, Usage& u) {
    static simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(body.data(), body.size()).get(doc)) return false;
    simdjson::dom::element usage;
    if (!doc.is_object() || doc["usage"].get(usage)) return true;
    auto take = [&](const char* key, std::int64_t& dst) {
        std::int64_t v;
        if (usage[key].get_int64().get(v) == simdjson::SUCCESS) dst = v;
    };
    take("input_tokens", u.input_tokens);
    take("output_tokens", u.output_tokens);
    take("cache_read_input_tokens", u.cache_read_input_tokens);
    take("cache_creation_input_tokens", u.cache_creation_input_tokens);
    return true;
}

void check_json_against_dom(std::string_view body) {
    Usage want;
    if (!dom_usage(body, want)) return;  // not JSON: the tap may read more than the DOM (usage_tap.cc)
    const Tapped got = tap(UsageTap::Mode::json, [&](UsageTap& t) { t.feed(body); });
    FUZZ_CHECK(same(got.usage, want), "JSON usage differs from the DOM's: input %lld/%lld output %lld/%lld",
               static_cast<long long>(got.usage.input_tokens), static_cast<long long>(want.input_tokens),
               static_cast<long long>(got.usage.output_tokens), static_cast<long long>(want.output_tokens));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    check_split_invariance(UsageTap::Mode::sse, body);
    check_split_invariance(UsageTap::Mode::json, body);
    check_json_against_dom(body);
    check_known_events_after_junk(body);
    return 0;
}
