// check_json: RFC 8259's grammar with bounded depth, and the same verdict as simdjson's full
// (DOM) parser over many generated and mutated documents. Every kernel of the block scan this
// CPU runs must also give exactly the fault (offset and message) of the byte-at-a-time checker
// it replaced (json_check_reference.h), including where a string, an escape or a backslash run
// crosses a 64-byte block or the window of blocks scanned ahead.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/worker/json_check_reference.h"
#include "worker/json_check.h"
#include "worker/json_scan.h"

namespace ccr::worker {
namespace {

bool ok(std::string_view s) { return !check_json(s); }

std::vector<JsonKernel> kernels() {
    std::vector<JsonKernel> out;
    for (const JsonKernel k : {JsonKernel::avx2, JsonKernel::sse2, JsonKernel::portable}) {
        if (json_kernel_available(k)) out.push_back(k);
    }
    return out;
}

const char* name(JsonKernel k) {
    switch (k) {
        case JsonKernel::avx2: return "avx2";
        case JsonKernel::sse2: return "sse2";
        case JsonKernel::portable: return "portable";
        case JsonKernel::best: break;
    }
    return "best";
}

// Every kernel, and check_json itself, finds the reference's fault; false (after reporting) if
// one does not. They read a copy of exactly doc's size, so a sanitizer build sees any read past it.
bool same_as_reference(std::string_view text) {
    const auto tight = std::make_unique<char[]>(text.size());
    if (!text.empty()) std::memcpy(tight.get(), text.data(), text.size());
    const std::string_view doc(tight.get(), text.size());
    const JsonFault want = reference::check_json(doc);
    const auto differs = [&](const JsonFault& got, const char* kernel) {
        if (got.offset == want.offset && got.what == want.what) return false;
        ADD_FAILURE() << kernel << " on " << doc.size()
                      << " bytes: " << ::testing::PrintToString(std::string(doc)) << "\n  got  "
                      << got.offset << " " << got.what << "\n  want " << want.offset << " "
                      << want.what;
        return true;
    };
    if (differs(check_json(doc), "best")) return false;
    for (const JsonKernel k : kernels()) {
        if (differs(check_json(doc, kMaxJsonDepth, k), name(k))) return false;
    }
    return true;
}

TEST(CheckJson, AcceptsValidDocuments) {
    for (const char* s : {"{}", "[]", " {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\n\\u00e9\\\"\"]} ",
                          "\"just a string\"", "0", "-0.0E-1", "{\"a\":{\"b\":{\"c\":[[[]]]}}}",
                          "\"\\/\\b\\f\\r\\t\\\\\"", "\"\xc3\xa9 unicode \xf0\x9f\x9a\x80\"",
                          // Lone surrogates: JSON allows them, Node's JSON.stringify writes them.
                          "\"\\uD83D\"", "[\"\\udc00\\uD83D x\"]"}) {
        EXPECT_TRUE(ok(s)) << s << ": " << check_json(s).what;
    }
}

TEST(CheckJson, RefusesWhatTheGrammarDoesNot) {
    for (const char* s : {"", " ", "{", "}", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":}",
                          "[01]", "[1.]", "[.5]", "[-]", "[1e]", "[1e+]", "[+1]", "[tru]", "[nul]", "[truex]",
                          "\"\\x\"", "\"\\u12g4\"", "\"\\u12\"", "\"unterminated", "[1] [2]", "{} x",
                          "[\"a\tb\"]", "[\"a\nb\"]", "['a']", "[1 2]", "{\"a\":1 \"b\":2}", "[NaN]", "[Infinity]"}) {
        EXPECT_FALSE(ok(s)) << s;
    }
}

TEST(CheckJson, SaysWhereAndWhy) {
    const JsonFault f = check_json("{\"a\": [1, 2,, 3]}");
    EXPECT_EQ(f.offset, 12u);
    EXPECT_EQ(f.what, "unexpected character where a value should start");
    EXPECT_EQ(check_json("{\"a\": 1").what, "unexpected end of input");
    // A string long enough for the 16-byte scan, with the fault past its first block.
    const std::string s = "[\"" + std::string(40, 'a') + "\\q\"]";
    EXPECT_EQ(check_json(s).offset, 42u);
    EXPECT_EQ(check_json(s).what, "invalid escape in a string");
}

TEST(CheckJson, DepthIsBoundedAtTheLimit) {
    const auto nested = [](std::size_t n) { return std::string(n, '[') + std::string(n, ']'); };
    EXPECT_TRUE(ok(nested(kMaxJsonDepth)));
    const JsonFault f = check_json(nested(kMaxJsonDepth + 1));
    EXPECT_EQ(f.what, "nesting deeper than 1024 levels");
    EXPECT_EQ(f.offset, kMaxJsonDepth);
    EXPECT_FALSE(ok("{\"deep\":" + std::string(100'000, '[')));  // no recursion: no stack overflow
    EXPECT_TRUE(ok(nested(3)));
    EXPECT_FALSE(!check_json(nested(3), 2));
}

// Random documents (ASCII text, escapes, numbers, nesting), then random edits with JSON's own
// characters, each judged by check_json and by simdjson's DOM parser.
class Generator {
  public:
    explicit Generator(unsigned seed) : rng_(seed) {}
    std::string doc() {
        std::string out;
        value(out, 0);
        return out;
    }
    std::string mutate(std::string s) {
        static const std::string alphabet = "{}[],:\"\\\\ 0123456789eE.-+tfnulx\t\x01";
        const int edits = 1 + static_cast<int>(rng_() % 3);
        for (int i = 0; i < edits && !s.empty(); ++i) {
            const std::size_t at = rng_() % s.size();
            const char c = alphabet[rng_() % alphabet.size()];
            switch (rng_() % 3) {
                case 0: s.erase(at, 1); break;
                case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
                default: s[at] = c; break;
            }
        }
        return s;
    }

  private:
    void ws(std::string& out) {
        if (rng_() % 4 == 0) out += " \n\t\r"[rng_() % 4];
    }
    void string(std::string& out) {
        out += '"';
        const int n = static_cast<int>(rng_() % 40);
        for (int i = 0; i < n; ++i) {
            switch (rng_() % 16) {
                case 0: out += "\\n"; break;
                case 1: out += "\\\""; break;
                case 2: out += "\\u00e9"; break;
                case 3: out += "\\\\"; break;
                case 4: out += std::string(2 * (rng_() % 5), '\\'); break;  // runs across blocks
                case 5: out += std::string(rng_() % 80, 'x'); break;  // strings across blocks
                default: out += static_cast<char>('a' + rng_() % 26); break;
            }
        }
        out += '"';
    }
    void value(std::string& out, int depth) {
        ws(out);
        const unsigned kind = depth > 6 ? rng_() % 4 : rng_() % 6;
        switch (kind) {
            case 0: string(out); break;
            case 1: out += std::to_string(static_cast<int>(rng_() % 20000) - 10000); if (rng_() % 2) out += ".25e-3"; break;
            case 2: out += rng_() % 2 ? "true" : "null"; break;
            case 3: out += "false"; break;
            case 4: {
                out += '{';
                const int n = static_cast<int>(rng_() % 4);
                for (int i = 0; i < n; ++i) {
                    if (i) out += ',';
                    ws(out);
                    string(out);
                    ws(out);
                    out += ':';
                    value(out, depth + 1);
                }
                ws(out);
                out += '}';
                break;
            }
            default: {
                out += '[';
                const int n = static_cast<int>(rng_() % 4);
                for (int i = 0; i < n; ++i) {
                    if (i) out += ',';
                    value(out, depth + 1);
                }
                ws(out);
                out += ']';
                break;
            }
        }
        ws(out);
    }
    std::mt19937 rng_;
};

TEST(CheckJson, AgreesWithSimdjsonOnGeneratedAndMutatedDocuments) {
    simdjson::dom::parser parser;
    Generator gen(20261128);
    int valid = 0, invalid = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string doc = gen.doc();
        if (i % 2) doc = gen.mutate(std::move(doc));
        const simdjson::padded_string padded(doc);
        simdjson::dom::element e;
        const auto err = parser.parse(padded).get(e);
        // simdjson refuses numbers beyond a double's range, which RFC 8259 allows.
        if (err == simdjson::NUMBER_ERROR) continue;
        if (!same_as_reference(doc)) break;
        const bool ours = ok(doc);
        EXPECT_EQ(ours, err == simdjson::SUCCESS) << "document: " << doc << "\nsimdjson: " << simdjson::error_message(err)
                                                  << "\nours: " << check_json(doc).what;
        (ours ? valid : invalid) += 1;
        if (::testing::Test::HasFailure()) break;
    }
    // Both verdicts are well represented, so the comparison means something.
    EXPECT_GT(valid, 8000);
    EXPECT_GT(invalid, 3000);
}

// A string of `n` backslashes then `after`, its last backslash at `last` (a block boundary at 64
// and 128 sits inside or right after the run).
std::string run_at(std::size_t last, std::size_t n, std::string_view after) {
    std::string doc = "[\"" + std::string(last + 1 - n - 2, 'a') + std::string(n, '\\');
    doc += after;
    return doc;
}

TEST(CheckJson, BackslashRunsAcrossABlockBoundaryEscapeByTheirParity) {
    for (const std::size_t last : {62u, 63u, 64u, 65u, 127u, 128u}) {
        for (std::size_t n = 1; n <= 8; ++n) {
            // After an odd run the quote is escaped and the string goes on; after an even one it
            // closes the string.
            const std::string quote = run_at(last, n, "\"]");
            const JsonFault f = check_json(quote);
            if (n % 2) {
                EXPECT_EQ(f.what, "unterminated string") << last << " " << n;
                EXPECT_EQ(f.offset, quote.size()) << last << " " << n;
                EXPECT_TRUE(ok(quote + "\"]")) << last << " " << n;
            } else {
                EXPECT_TRUE(ok(quote)) << last << " " << n << ": " << f.what;
            }
            // After an odd run `x` is a bad escape at the run's last backslash.
            const std::string x = run_at(last, n, "x\"]");
            EXPECT_EQ(ok(x), n % 2 == 0) << last << " " << n;
            if (n % 2) {
                EXPECT_EQ(check_json(x).offset, last) << n;
                EXPECT_EQ(check_json(x).what, "invalid escape in a string");
            }
            // A body that ends inside the run: unterminated at the backslash that escapes nothing.
            const std::string cut = run_at(last, n, "");
            EXPECT_EQ(check_json(cut).what, "unterminated string");
            EXPECT_EQ(check_json(cut).offset, n % 2 ? last : last + 1) << last << " " << n;
            for (const std::string& doc :
                 {quote, x, cut, run_at(last, n, "u12\"]"), run_at(last, n, "uD83D\"]")}) {
                if (!same_as_reference(doc)) return;
            }
        }
    }
}

TEST(CheckJson, QuotesOnEitherSideOfABlockBoundaryOpenAndCloseStrings) {
    for (const std::size_t at : {62u, 63u, 64u, 65u}) {
        // A string closing at `at`, and a member name opening there.
        const std::string closing = "[\"" + std::string(at - 2, 'a') + "\",1]";
        EXPECT_TRUE(ok(closing)) << at;
        const std::string opening = "{\"a\":1," + std::string(at - 7, ' ') + "\"bc\":2}";
        ASSERT_EQ(opening[at], '"');
        EXPECT_TRUE(ok(opening)) << at;
        // A control character right after the boundary, inside a string that opened before it.
        std::string control = closing;
        control[at] = '\x1f';
        EXPECT_EQ(check_json(control).what, "control character in a string (must be escaped)");
        EXPECT_EQ(check_json(control).offset, at);
        for (const std::string& doc : {closing, opening, control}) {
            if (!same_as_reference(doc)) return;
        }
    }
}

// Pieces that matter to the scan, each at every offset from 0 to 200 in a string, an object
// member or an array, and every body cut short after each byte: the kernels and the reference
// agree on all of them (lengths 0 to ~230, so every split across the first three blocks).
TEST(CheckJson, EveryOffsetAndEveryCutAgreesWithTheReference) {
    const std::vector<std::string> pieces = {
        "\\\"", "\\\\", "\\\\\\\"", "\\\\\\\\\\", "\\n", "\\u00e9", "\\uD83D", "\\u12", "\\u12\"",
        "\\x", "\\\x01", "\x01", "\t", "\\", "\"", "\xc3\xa9", "\\/\\b\\f\\r\\t"};
    for (const std::string& piece : pieces) {
        for (std::size_t pad = 0; pad <= 200; ++pad) {
            const std::string filler(pad, 'a');
            const std::string docs[] = {
                "[\"" + filler + piece + "\"]",
                "{\"" + filler + piece + "\":[\"" + piece + "\",true]}",
                "[" + std::string(pad, ' ') + "\"" + piece + "\",\"z\"]"};
            for (const std::string& doc : docs) {
                if (pad % 20 == 0 || doc.size() <= 72) {
                    for (std::size_t cut = 0; cut <= doc.size(); ++cut) {
                        if (!same_as_reference(std::string_view(doc).substr(0, cut))) return;
                    }
                } else if (!same_as_reference(doc)) {
                    return;
                }
            }
        }
    }
}

// Bodies of many blocks and several scan windows (4 KiB each): long strings, one fault placed
// late, and a grammar fault that comes before a string's fault.
TEST(CheckJson, LongBodiesAgreeWithTheReference) {
    std::mt19937 rng(7);
    const auto text = [&](int tokens) {
        std::string out;
        for (int i = 0; i < tokens; ++i) {
            switch (rng() % 12) {
                case 0: out += "\\n"; break;
                case 1: out += "\\\""; break;
                case 2: out += "\\\\"; break;
                case 3: out += "\\u001b"; break;
                default: {
                    const char c = static_cast<char>(' ' + rng() % 95);
                    out += c == '"' || c == '\\' ? 'q' : c;
                }
            }
        }
        return out;
    };
    std::string body = "{\"model\":\"m\",\"messages\":[";
    for (int i = 0; i < 40; ++i) {
        body += i ? "," : "";
        body += "{\"role\":\"user\",\"content\":\"" + text(3000 + 97 * i) + "\"}";
    }
    body += "]}";
    ASSERT_GT(body.size(), 150'000u);
    EXPECT_TRUE(ok(body)) << check_json(body).what << " at " << check_json(body).offset;
    ASSERT_TRUE(same_as_reference(body));
    for (const std::size_t at : {body.size() / 3, body.size() / 2 + 4097, body.size() - 10}) {
        for (const char* bad : {"\x02", "\\q", "\\u00g0"}) {
            std::string broken = body;
            broken.replace(at, 1, bad);
            if (!same_as_reference(broken)) return;
        }
    }
    // A grammar fault early and a bad escape late: the grammar fault is the one reported.
    std::string both = body;
    both.replace(body.size() - 10, 1, "\\q");
    both.replace(both.find(",{"), 1, ";");
    EXPECT_EQ(check_json(both).what, "expected ',' or ']' after an array element");
    ASSERT_TRUE(same_as_reference(both));
    for (std::size_t cut = body.size() - 200; cut <= body.size(); ++cut) {
        if (!same_as_reference(std::string_view(body).substr(0, cut))) return;
    }
}

}  // namespace
}  // namespace ccr::worker

namespace {

bool mentions_thinking(std::string_view text) {
    const ccr::worker::JsonFault f = ccr::worker::check_json(text);
    EXPECT_FALSE(f) << f.what;
    return f.mentions_thinking;
}

}  // namespace

TEST(CheckJsonThinking, AThinkingBlocksTypeIsSeen) {
    EXPECT_TRUE(mentions_thinking(R"({"content":[{"type" :  "thinking","thinking":"x","signature":"s"}]})"));
    EXPECT_TRUE(mentions_thinking(R"({"content":[{"type":"redacted_thinking","data":"d"}]})"));
    EXPECT_TRUE(mentions_thinking(R"({"redacted_thinking":1})"));  // anywhere, as the old pre-check
    EXPECT_TRUE(mentions_thinking(R"([{"a":[1,{"b":"thinking"}]}])"));
}

TEST(CheckJsonThinking, TheThinkingMemberAndOtherStringsAreNot) {
    EXPECT_FALSE(mentions_thinking(R"({"model":"m","thinking":{"type":"enabled","budget_tokens":1024}})"));
    EXPECT_FALSE(mentions_thinking(R"({"content":["thinking"]})"));         // an array element, not a type
    EXPECT_FALSE(mentions_thinking(R"({"text":"the \"thinking\" step"})"));  // inside another string
    EXPECT_FALSE(mentions_thinking(R"({"type":"thinkingX","t":"Thinking"})"));
    EXPECT_FALSE(mentions_thinking(R"("thinking")"));  // a top-level string is no member's value
    // Invalid text says nothing.
    EXPECT_FALSE(ccr::worker::check_json(R"({"type":"thinking",})").mentions_thinking);
}

namespace ccr::worker {
namespace {

TEST(CheckJsonAsciiPrefix, EndsAtTheFirstBlockWithAByteAbove0x7f) {
    // The UTF-8 check of inspect_body starts there: every byte before it must be ASCII.
    for (const JsonKernel k : kernels()) {
        const std::string ascii = "{\"a\":\"" + std::string(300, 'x') + "\",\"b\":[1,2,{}]}";
        JsonFault f = check_json(ascii, kMaxJsonDepth, k);
        ASSERT_FALSE(f) << name(k) << ": " << f.what;
        EXPECT_EQ(f.ascii_prefix, ascii.size()) << name(k);

        for (const std::size_t at : {6u, 63u, 64u, 200u, 305u}) {
            std::string text = ascii;
            text[at] = static_cast<char>(0xc3);  // a UTF-8 lead byte (the text's UTF-8 is not checked here)
            f = check_json(text, kMaxJsonDepth, k);
            ASSERT_FALSE(f) << name(k) << " at " << at << ": " << f.what;
            EXPECT_EQ(f.ascii_prefix, at / 64 * 64) << name(k) << " at " << at;
        }
        // The whole text in one partial block (copied and padded by the scan).
        f = check_json("{\"\xc3\xa9\":1}", kMaxJsonDepth, k);
        ASSERT_FALSE(f) << name(k);
        EXPECT_EQ(f.ascii_prefix, 0u) << name(k);
    }
}

}  // namespace
}  // namespace ccr::worker
