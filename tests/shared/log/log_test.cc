#include "shared/log/log.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "shared/log/fields.h"

namespace ccr::shared {
namespace {

// 2026-11-28T01:31:02.123Z
const auto kWhen = spdlog::log_clock::time_point(std::chrono::milliseconds(1795829462123));

// Lines in a zone half an hour off the hour, so a missing or rounded offset shows.
class LineFormat : public ::testing::Test {
  protected:
    void SetUp() override {
        if (const char* tz = std::getenv("TZ")) saved_ = tz, had_ = true;
        ::setenv("TZ", "XST-05:30", 1);
        ::tzset();
    }
    void TearDown() override {
        if (had_) {
            ::setenv("TZ", saved_.c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    static std::string format(bool json,
                              std::string_view message,
                              spdlog::level::level_enum level = spdlog::level::info) {
        auto formatter = line_formatter(json, "worker 3");
        spdlog::details::log_msg msg(kWhen, {}, "cc-relay", level, message);
        spdlog::memory_buf_t out;
        formatter->format(msg, out);
        return fmt::to_string(out);
    }

  private:
    std::string saved_;
    bool had_ = false;
};

TEST_F(LineFormat, TextLineCarriesLocalTimeWithItsUtcOffset) {
    EXPECT_EQ(format(false, "listening on 127.0.0.1:8787"),
              "2026-11-28T07:01:02.123+05:30 I [worker 3] listening on 127.0.0.1:8787\n");
}

TEST_F(LineFormat, JsonLineIsOneObjectWithTimeLevelProcPidAndMsg) {
    const std::string line = format(true, "a \"quoted\"\nmessage", spdlog::level::warn);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    EXPECT_EQ(std::string_view(doc["ts"]), "2026-11-28T07:01:02.123+05:30");
    EXPECT_EQ(std::string_view(doc["level"]), "warning");
    EXPECT_EQ(std::string_view(doc["proc"]), "worker 3");
    EXPECT_EQ(int64_t(doc["pid"]), ::getpid());
    EXPECT_EQ(std::string_view(doc["msg"]), "a \"quoted\"\nmessage");
}

TEST_F(LineFormat, JsonLineTakesLogFieldsAsFieldsOfTheirOwn) {
    LogFields f("upstream attempt failed");
    f.text("request_id", "rid", "r-1")
        .text("provider", "provider", "zai")
        .number("status", "status", 503)
        .text("model", "model", "", true)
        .flag("stream", "stream", true)
        .decimal("ttfb_ms", "ttfb_ms", 12.3456)
        .decimal("cost_usd", "", 0.0000126, 6)
        .null("client_name");
    const std::string line = format(true, f.json());
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
    EXPECT_EQ(std::string_view(doc["msg"]), "upstream attempt failed");
    EXPECT_EQ(std::string_view(doc["request_id"]), "r-1");
    EXPECT_EQ(std::string_view(doc["provider"]), "zai");
    EXPECT_EQ(int64_t(doc["status"]), 503);
    EXPECT_TRUE(doc["model"].is_null());
    EXPECT_TRUE(bool(doc["stream"]));
    EXPECT_DOUBLE_EQ(double(doc["ttfb_ms"]), 12.346);
    EXPECT_DOUBLE_EQ(double(doc["cost_usd"]), 0.000013);
    EXPECT_TRUE(doc["client_name"].is_null());
    EXPECT_EQ(std::string_view(doc["proc"]), "worker 3");
}

TEST(LogFields, TextLineQuotesOnlyValuesThatNeedIt) {
    LogFields f("upstream attempt failed");
    f.text("request_id", "rid", "r-1")
        .text("status", "status", "", true)
        .text("reason", "reason", "upstream answered 503")
        .text("path", "path", "/v1/messages?beta=true")
        .flag("stream", "stream", false)
        .flag("client_aborted", "", true)
        .decimal("ttfb_ms", "ttfb_ms", 12.3456);
    EXPECT_EQ(f.text(),
              "upstream attempt failed rid=r-1 status=- reason=\"upstream answered 503\" "
              "path=/v1/messages?beta=true stream=0 ttfb_ms=12.35");
}

}  // namespace
}  // namespace ccr::shared
