#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "cli/commands.h"
#include "shared/config/config.h"
#include "tests/cli/cli_test_util.h"

namespace ccr::cli {
namespace {

using testing::capture;
using testing::mode_of;
using testing::Outcome;
using testing::read_text;
using testing::TempDir;
using testing::write_text;

Outcome run_init(const ConfigInitOptions& opts) {
    return capture([&] { return run_config_init(opts); });
}

TEST(ConfigInit, WritesTheDefaultConfigWithMode0600InADirectoryWithMode0750) {
    TempDir dir;
    const mode_t old_umask = ::umask(022);
    ConfigInitOptions opts;
    opts.output = dir.file("cc-relay/config.yaml");
    Outcome r = run_init(opts);
    ::umask(old_umask);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(read_text(opts.output), shared::default_config_yaml());
    EXPECT_EQ(mode_of(opts.output), 0600);
    EXPECT_EQ(mode_of(dir.file("cc-relay")), 0750);
    EXPECT_NE(r.out.find("config validate"), std::string::npos) << "prints next steps";
}

TEST(ConfigInit, RefusesToOverwriteWithoutForce) {
    TempDir dir;
    ConfigInitOptions opts;
    opts.output = dir.file("config.yaml");
    write_text(opts.output, "mine: true\n");
    Outcome r = run_init(opts);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("already exists at " + opts.output), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
    EXPECT_EQ(read_text(opts.output), "mine: true\n");
}

TEST(ConfigInit, OverwritesWithForceAndTightensTheMode) {
    TempDir dir;
    ConfigInitOptions opts;
    opts.output = dir.file("config.yaml");
    write_text(opts.output, "mine: true\n");
    ASSERT_EQ(::chmod(opts.output.c_str(), 0644), 0);
    opts.force = true;
    ASSERT_EQ(run_init(opts).code, 0);
    EXPECT_EQ(read_text(opts.output), shared::default_config_yaml());
    EXPECT_EQ(mode_of(opts.output), 0600);
}

TEST(ConfigInit, RefusesADirectoryAsTheOutput) {
    TempDir dir;
    ConfigInitOptions opts;
    opts.output = dir.path();
    opts.force = true;
    EXPECT_EQ(run_init(opts).code, 1);
}

}  // namespace
}  // namespace ccr::cli
