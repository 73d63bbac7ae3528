#include "worker/record.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "worker/request.h"

namespace ccr::worker {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& members) {
    // The members as the JSON formatter splices them: after its marker, inside one object.
    const std::string object = "{" + members.substr(1) + "}";
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(object).get(doc), simdjson::SUCCESS) << object;
    return doc;
}

RequestContext failed_over_request() {
    RequestContext ctx;
    ctx.request_id = "r-7";
    ctx.client = "127.0.0.1:50000";
    ctx.method = "POST";
    ctx.target = "/v1/messages?beta=true";
    RequestRecord& r = ctx.rec;
    r.provider = 1;
    r.provider_name = "second";
    r.client_name = "alice";
    r.model = "claude-x";
    r.stream = true;
    r.status = 200;
    r.failovers = 1;
    r.bytes_in = 120;
    r.bytes_out = 4096;
    r.input_tokens = 321;
    r.output_tokens = 57;
    r.cache_read = 1024;
    r.cache_creation = 64;
    r.priced = true;
    r.cost_micro_usd = 1250;
    r.ttfb = std::chrono::microseconds(12355);
    r.total = std::chrono::microseconds(567890);
    return ctx;
}

TEST(AccessFields, JsonCarriesEveryDocumentedFieldWithItsType) {
    simdjson::dom::parser parser;
    const RequestContext ctx = failed_over_request();
    auto doc = parse(parser, access_fields(ctx).json());
    EXPECT_EQ(std::string_view(doc["msg"]), "access");
    EXPECT_EQ(std::string_view(doc["request_id"]), "r-7");
    EXPECT_EQ(std::string_view(doc["client"]), "127.0.0.1:50000");
    EXPECT_EQ(std::string_view(doc["client_name"]), "alice");
    EXPECT_EQ(std::string_view(doc["method"]), "POST");
    EXPECT_EQ(std::string_view(doc["path"]), "/v1/messages?beta=true");
    EXPECT_EQ(std::string_view(doc["provider"]), "second");
    EXPECT_EQ(std::string_view(doc["model"]), "claude-x");
    EXPECT_TRUE(bool(doc["stream"]));
    EXPECT_EQ(int64_t(doc["status"]), 200);
    EXPECT_FALSE(bool(doc["client_aborted"]));
    EXPECT_EQ(int64_t(doc["attempts"]), 2);
    EXPECT_EQ(int64_t(doc["failovers"]), 1);
    EXPECT_EQ(int64_t(doc["bytes_in"]), 120);
    EXPECT_EQ(int64_t(doc["bytes_out"]), 4096);
    EXPECT_EQ(int64_t(doc["input_tokens"]), 321);
    EXPECT_EQ(int64_t(doc["output_tokens"]), 57);
    EXPECT_EQ(int64_t(doc["cache_read_tokens"]), 1024);
    EXPECT_EQ(int64_t(doc["cache_creation_tokens"]), 64);
    EXPECT_DOUBLE_EQ(double(doc["cost_usd"]), 0.00125);
    EXPECT_DOUBLE_EQ(double(doc["ttfb_ms"]), 12.355);
    EXPECT_DOUBLE_EQ(double(doc["duration_ms"]), 567.890);
    EXPECT_TRUE(doc["error"].is_null());
}

TEST(AccessFields, RelayAnswerHasNoProviderNoPriceAndItsError) {
    RequestContext ctx;
    ctx.request_id = "r-8";
    ctx.method = "POST";
    ctx.target = "/v1/messages";
    ctx.rec.status = 503;
    ctx.rec.error = "overloaded_error: no enabled provider serves model x";
    simdjson::dom::parser parser;
    auto doc = parse(parser, access_fields(ctx).json());
    EXPECT_EQ(int64_t(doc["attempts"]), 0);
    EXPECT_TRUE(doc["provider"].is_null());
    EXPECT_TRUE(doc["client_name"].is_null());
    EXPECT_TRUE(doc["cost_usd"].is_null());
    EXPECT_EQ(std::string_view(doc["error"]),
              "overloaded_error: no enabled provider serves model x");
    const std::string text = access_fields(ctx).text();
    EXPECT_NE(text.find("access rid=r-8 "), std::string::npos) << text;
    EXPECT_NE(text.find(" status=503 attempts=0 "), std::string::npos) << text;
    EXPECT_NE(text.find(" error=\"overloaded_error: no enabled provider serves model x\""),
              std::string::npos)
        << text;
}

TEST(AccessFields, TextLineKeepsItsShortNamesAndOmitsAnEmptyError) {
    const std::string text = access_fields(failed_over_request()).text();
    EXPECT_EQ(
        text,
        "access rid=r-7 client=127.0.0.1:50000 client_name=alice method=POST "
        "path=/v1/messages?beta=true "
        "provider=second model=claude-x stream=1 status=200 attempts=2 failovers=1 bytes_in=120 "
        "bytes_out=4096 in_tok=321 out_tok=57 cache_read=1024 cache_create=64 ttfb_ms=12.36 "
        "dur_ms=567.89");
}

}  // namespace
}  // namespace ccr::worker
