// check_json: RFC 8259's grammar with bounded depth, and the same verdict as simdjson's full
// (DOM) parser over many generated and mutated documents.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>
#include <string>

#include "worker/json_check.h"

namespace ccr::worker {
namespace {

bool ok(std::string_view s) { return !check_json(s); }

TEST(CheckJson, AcceptsValidDocuments) {
    for (const char* s : {"{}", "[]", " {\"a\" : [1, -2.5e+3, 0, true, false, null, \"x\\n\\u00e9\\\"\"]} ",
                          "\"just a string\"", "0", "-0.0E-1", "{\"a\":{\"b\":{\"c\":[[[]]]}}}",
                          "\"\\/\\b\\f\\r\\t\\\\\"", "\"\xc3\xa9 unicode \xf0\x9f\x9a\x80\""}) {
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
        static const std::string alphabet = "{}[],:\"\\ 0123456789eE.-+tfnulx\t";
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
            switch (rng_() % 12) {
                case 0: out += "\\n"; break;
                case 1: out += "\\\""; break;
                case 2: out += "\\u00e9"; break;
                case 3: out += "\\\\"; break;
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

}  // namespace
}  // namespace ccr::worker
