#include "shared/ledger/ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "shared/clock.h"

namespace ccr::shared::ledger {
namespace {

constexpr std::int64_t kDay1 = 1'764'288'000'000;  // 2025-11-28T00:00:00Z
constexpr std::int64_t kHour = 3'600'000;

stats::Snapshot snapshot(std::uint64_t requests, std::uint64_t tokens_in, std::uint64_t alice) {
    stats::Snapshot s;
    stats::ProviderStats p;
    p.name = "anthropic";
    p.counters.requests = requests;
    p.counters.input_tokens = tokens_in;
    p.counters.cost_micro_usd = 10 * requests;
    s.providers.push_back(p);
    stats::ClientStats c;
    c.name = "alice";
    c.requests = alice;
    s.clients.push_back(c);
    return s;
}

struct TempFile {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("cc-relay-ledger-" + std::to_string(::getpid()) + "/sub/usage.db")).string();
    ~TempFile() { std::filesystem::remove_all(std::filesystem::path(path).parent_path().parent_path()); }
};

TEST(LedgerRecorder, DeltasSinceTheLastCommittedReading) {
    Recorder r;
    auto rows = r.deltas(snapshot(5, 100, 2), kDay1);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(rows[0].day, "2025-11-28");
    EXPECT_EQ(rows[0].client, "*");
    EXPECT_EQ(rows[0].provider, "anthropic");
    EXPECT_EQ(rows[0].usage.requests, 5u);
    EXPECT_EQ(rows[1].client, "alice");
    EXPECT_EQ(rows[1].provider, "*");
    r.commit();
    rows = r.deltas(snapshot(7, 100, 2), kDay1 + kHour);
    ASSERT_EQ(rows.size(), 1u) << "the unchanged client has no row";
    EXPECT_EQ(rows[0].usage.requests, 2u);
    EXPECT_EQ(rows[0].usage.input_tokens, 0u);
    EXPECT_EQ(rows[0].usage.cost_micro_usd, 20u);
}

TEST(LedgerRecorder, AnUncommittedReadingIsCoveredByTheNext) {
    Recorder r;
    r.deltas(snapshot(5, 0, 0), kDay1);  // the write failed: no commit
    auto rows = r.deltas(snapshot(8, 0, 0), kDay1);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].usage.requests, 8u);
}

TEST(LedgerRecorder, ACounterThatWentDownStartsOverAndANewDayGetsItsOwnRow) {
    Recorder r;
    r.deltas(snapshot(50, 0, 0), kDay1);
    r.commit();
    auto rows = r.deltas(snapshot(3, 0, 0), kDay1 + 25 * kHour);  // restarted: the segment is new
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].usage.requests, 3u);
    EXPECT_EQ(rows[0].day, "2025-11-29");
}

TEST(Ledger, AddsUpAcrossWritesAndReopensAndFilters) {
    TempFile f;
    {
        auto l = Ledger::open_for_writing(f.path);
        l->add({{"2025-11-28", "*", "anthropic", {5, 100, 50, 1, 2, 300}}, {"2025-11-28", "alice", "*", {2, 0, 0, 0, 0, 0}}});
        l->add({{"2025-11-28", "*", "anthropic", {1, 10, 5, 0, 0, 30}}, {"2025-11-29", "*", "anthropic", {4, 0, 0, 0, 0, 0}}});
    }
    auto reopened = Ledger::open_for_writing(f.path);
    reopened->add({{"2025-11-29", "*", "anthropic", {1, 0, 0, 0, 0, 0}}});
    const auto reader = Ledger::open_for_reading(f.path);
    const auto all = reader->read("", false, "", "");
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0].usage, (Usage{6, 110, 55, 1, 2, 330}));
    const auto day2 = reader->read("2025-11-29", true, "", "anthropic");
    ASSERT_EQ(day2.size(), 1u);
    EXPECT_EQ(day2[0].usage.requests, 5u);
    EXPECT_EQ(reader->read("2025-11-28", true, "alice", "").size(), 1u);
    EXPECT_EQ(reader->read("2025-11-30", false, "", "").size(), 0u);
}

// The master's loop in small: read the segment, write the deltas, commit; across a UTC midnight,
// a restart (the counters start again) and a failed write.
TEST(Ledger, WritesFromSnapshotsAcrossMidnightARestartAndAFailedWrite) {
    TempFile f;
    FakeClock clock(0, kDay1 + 23 * kHour);  // 2025-11-28T23:00Z
    Recorder r;
    auto l = Ledger::open_for_writing(f.path);
    auto write = [&](const stats::Snapshot& s) {
        l->add(r.deltas(s, clock.unix_ms()));
        r.commit();
    };
    write(snapshot(4, 40, 1));
    clock.advance(30 * 60'000);
    write(snapshot(6, 60, 1));
    clock.advance(45 * 60'000);  // 00:15 the next day: what grew since 23:30 is the new day's
    write(snapshot(9, 90, 3));
    // A restart: a new recorder and a new segment whose counters start from zero.
    r = Recorder{};
    write(snapshot(2, 20, 0));
    clock.advance(kHour);
    write(snapshot(1, 5, 0));  // lower than at the last write: counted as new
    // A write that fails leaves the base alone; the next one carries its counts.
    (void)r.deltas(snapshot(3, 25, 0), clock.unix_ms());
    write(snapshot(4, 30, 0));

    const auto reader = Ledger::open_for_reading(f.path);
    const auto rows = reader->read("", false, "", "");
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[0].day, "2025-11-28");
    EXPECT_EQ(rows[0].provider, "anthropic");
    EXPECT_EQ(rows[0].usage, (Usage{6, 60, 0, 0, 0, 60}));
    EXPECT_EQ(rows[1].day, "2025-11-28");
    EXPECT_EQ(rows[1].client, "alice");
    EXPECT_EQ(rows[1].usage.requests, 1u);
    EXPECT_EQ(rows[2].day, "2025-11-29");
    EXPECT_EQ(rows[2].provider, "anthropic");
    // 3 (to 9) + 2 (restart) + 1 (went down: from zero) + 3 (to 4, past the failed write).
    EXPECT_EQ(rows[2].usage, (Usage{9, 30 + 20 + 5 + 25, 0, 0, 0, 90}));
    EXPECT_EQ(rows[3].client, "alice");
    EXPECT_EQ(rows[3].usage.requests, 2u) << "the client's 0 after the restart adds nothing";
}

TEST(Ledger, ReadingAFileThatIsNotThereSaysSo) {
    try {
        Ledger::open_for_reading("/nonexistent/cc-relay/usage.db");
        FAIL();
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/cc-relay/usage.db"), std::string::npos);
    }
}

}  // namespace
}  // namespace ccr::shared::ledger
