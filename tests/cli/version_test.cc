#include <gtest/gtest.h>

#include <string>

#include "cli/commands.h"

namespace ccr::cli {
namespace {

TEST(Version, PrintsTheNameAndVersionThenTheBuild) {
    ::testing::internal::CaptureStdout();
    int code = run_version();
    std::string out = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(code, 0);
    EXPECT_EQ(out.rfind("cc-relay " CCR_VERSION "\n", 0), 0u) << out;
    EXPECT_NE(out.find("C++20"), std::string::npos) << out;
}

}  // namespace
}  // namespace ccr::cli
