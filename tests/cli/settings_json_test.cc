#include "cli/settings_json.h"

#include <gtest/gtest.h>

#include <string>

namespace ccr::cli {
namespace {

JsonParseError parse_error(const std::string& text) {
    JsonParseError err;
    auto v = parse_json(text, &err);
    EXPECT_FALSE(v.has_value()) << "accepted: " << text;
    return err;
}

TEST(SettingsJson, PrettyDocumentRoundTripsByteForByte) {
    const std::string text = R"({
  "model": "opus",
  "cost": 1.50,
  "big": -12.5e+10,
  "name": "caf\u00e9 \"quoted\" \/ é",
  "flags": [
    true,
    false,
    null,
    0
  ],
  "empty": {},
  "none": [],
  "env": {
    "Z_FIRST": "1",
    "A_SECOND": "2"
  }
}
)";
    JsonParseError err;
    auto doc = parse_json(text, &err);
    ASSERT_TRUE(doc.has_value()) << err.to_string();
    EXPECT_EQ(print_json(*doc), text);
}

TEST(SettingsJson, PrinterNormalisesWhitespaceOnly) {
    auto doc = parse_json("{\"b\":1.0,\t\"a\" : [ 1 ,2 ],\r\n\"c\":{\"d\":\"\\u0041\"}}", nullptr);
    ASSERT_TRUE(doc.has_value());
    EXPECT_EQ(print_json(*doc),
              "{\n  \"b\": 1.0,\n  \"a\": [\n    1,\n    2\n  ],\n  \"c\": {\n"
              "    \"d\": \"\\u0041\"\n  }\n}\n");
}

TEST(SettingsJson, StringValuesDecodeEscapesAndSurrogatePairs) {
    auto doc = parse_json(R"({"s": "a\n\u00e9\ud83d\ude00\/"})", nullptr);
    ASSERT_TRUE(doc.has_value());
    EXPECT_EQ(doc->find("s")->string_value(), "a\n\xC3\xA9\xF0\x9F\x98\x80/");
    EXPECT_EQ(doc->find("s")->raw(), R"("a\n\u00e9\ud83d\ude00\/")");
}

TEST(SettingsJson, FindMatchesEscapedKeysAndTheLastDuplicateWins) {
    auto doc = parse_json(R"({"k": 1, "\u006b": 2, "other": 3})", nullptr);
    ASSERT_TRUE(doc.has_value());
    EXPECT_EQ(doc->find("k")->raw(), "2");
    EXPECT_EQ(doc->find("missing"), nullptr);
    EXPECT_TRUE(doc->erase("k"));
    ASSERT_EQ(doc->members().size(), 1u);
    EXPECT_FALSE(doc->erase("k"));
}

TEST(SettingsJson, SetReplacesInPlaceAndAppendsNewKeys) {
    auto doc = parse_json(R"({"a": 1, "b": 2, "c": 3})", nullptr);
    ASSERT_TRUE(doc.has_value());
    doc->set("b", JsonValue::string("two \"2\"\n"));
    doc->set("d", JsonValue::object());
    EXPECT_EQ(print_json(*doc),
              "{\n  \"a\": 1,\n  \"b\": \"two \\\"2\\\"\\n\",\n  \"c\": 3,\n  \"d\": {}\n}\n");
}

TEST(SettingsJson, AcceptsEveryKindOfTopLevelValue) {
    for (const char* text : {"0", "-0.5E-3", "\"x\"", "true", "null", "[]", " {} \n"}) {
        JsonParseError err;
        EXPECT_TRUE(parse_json(text, &err).has_value()) << text << ": " << err.to_string();
    }
}

TEST(SettingsJson, SkipsALeadingByteOrderMark) {
    EXPECT_TRUE(parse_json("\xEF\xBB\xBF{}", nullptr).has_value());
}

TEST(SettingsJson, RejectsTrailingCommaWithItsPosition) {
    JsonParseError err = parse_error("{\n  \"a\": 1,\n}");
    EXPECT_EQ(err.line, 3);
    EXPECT_EQ(err.column, 1);
    EXPECT_NE(err.message.find("trailing comma"), std::string::npos) << err.message;
    err = parse_error("[1,]");
    EXPECT_EQ(err.to_string().substr(0, 4), "1:4:");
}

TEST(SettingsJson, RejectsComments) {
    JsonParseError err = parse_error("{\n  // model\n  \"a\": 1\n}");
    EXPECT_EQ(err.line, 2);
    EXPECT_EQ(err.column, 3);
    EXPECT_NE(err.message.find("comments"), std::string::npos) << err.message;
    parse_error("{\"a\": 1 /* x */}");
}

TEST(SettingsJson, RejectsGarbageAfterTheValue) {
    JsonParseError err = parse_error("{\"a\": 1}\n}");
    EXPECT_EQ(err.line, 2);
    EXPECT_EQ(err.column, 1);
    parse_error("{} {}");
    parse_error("truex");
}

TEST(SettingsJson, RejectsMalformedScalars) {
    for (const char* text :
         {"01", "1.", ".5", "-", "1e", "+1", "NaN", "'a'", "tru", "nul", "\"abc", "\"\\x\"",
          "\"\\u12g4\"", "\"tab\there\"", "{\"a\" 1}", "{a: 1}", "[1 2]", "", "   "}) {
        parse_error(text);
    }
}

TEST(SettingsJson, RejectsInvalidUtf8InStrings) {
    for (const char* text : {"\"\xC3\"", "\"\xC0\xAF\"", "\"\xED\xA0\x80\"", "\"\xF5\x80\x80\x80\"",
                             "\"\xE0\x80\xAF\""}) {
        parse_error(text);
    }
}

TEST(SettingsJson, ColumnsCountCharactersNotBytes) {
    JsonParseError err = parse_error("{\"é€\": 1,,}");
    EXPECT_EQ(err.line, 1);
    EXPECT_EQ(err.column, 10);
}

TEST(SettingsJson, RejectsNestingDeeperThan512) {
    EXPECT_TRUE(parse_json(std::string(512, '[') + std::string(512, ']'), nullptr).has_value());
    JsonParseError err = parse_error(std::string(100000, '['));
    EXPECT_NE(err.message.find("nesting"), std::string::npos) << err.message;
}

TEST(SettingsJson, EncodesControlCharactersAndQuotes) {
    EXPECT_EQ(encode_json_string("a\"b\\c\x01\td"), R"("a\"b\\c\u0001\td")");
    EXPECT_EQ(decode_json_string(encode_json_string("x\x1f\"y\u00e9")), "x\x1f\"y\u00e9");
    EXPECT_EQ(decode_json_string("\"\\ud800\""), "\xEF\xBF\xBD");  // lone surrogate
    EXPECT_EQ(decode_json_string("no quotes"), std::nullopt);
}

}  // namespace
}  // namespace ccr::cli
