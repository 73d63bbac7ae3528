// The session affinity table over a fake clock: lookups, expiry, collisions in a probe window,
// and two processes sharing one table in shared memory.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <vector>

#include "worker/routing/affinity.h"

namespace ccr::worker::routing {
namespace {

using shared::stats::AffinityEntry;

struct Table {
    explicit Table(std::size_t n = 64, std::int64_t ttl = 1000)
        : entries(std::make_unique<AffinityEntry[]>(n)), table(std::span(entries.get(), n), clock, ttl) {}
    shared::FakeClock clock;
    std::unique_ptr<AffinityEntry[]> entries;
    AffinityTable table;
};

TEST(AffinityTable, RemembersTheLastProviderOfASession) {
    Table t;
    const auto s = AffinityTable::hash("session-a");
    EXPECT_FALSE(t.table.find(s));
    t.table.remember(s, 3);
    EXPECT_EQ(t.table.find(s), 3);
    t.table.remember(s, 0);
    EXPECT_EQ(t.table.find(s), 0);
    EXPECT_FALSE(t.table.find(AffinityTable::hash("session-b")));
}

TEST(AffinityTable, HashIsStableAndNeverZero) {
    EXPECT_EQ(AffinityTable::hash("abc"), AffinityTable::hash("abc"));
    EXPECT_NE(AffinityTable::hash("abc"), AffinityTable::hash("abd"));
    EXPECT_NE(AffinityTable::hash(""), 0u);
}

TEST(AffinityTable, AnEntryExpiresAfterItsTtlAndARememberRenewsIt) {
    Table t(64, 1000);
    const auto s = AffinityTable::hash("session");
    t.table.remember(s, 1);
    t.clock.advance(999);
    EXPECT_EQ(t.table.find(s), 1);
    t.table.remember(s, 1);
    t.clock.advance(999);
    EXPECT_EQ(t.table.find(s), 1) << "renewed by the second remember";
    t.clock.advance(1);
    EXPECT_FALSE(t.table.find(s));
}

TEST(AffinityTable, SessionsThatShareAHomeSlotKeepTheirOwnProviders) {
    Table t(16);
    // Same home slot (hash mod 16), different hashes.
    std::vector<std::uint64_t> s = {5, 5 + 16, 5 + 32, 5 + 48};
    for (std::size_t i = 0; i < s.size(); ++i) t.table.remember(s[i], static_cast<int>(i));
    for (std::size_t i = 0; i < s.size(); ++i) EXPECT_EQ(t.table.find(s[i]), static_cast<int>(i));
}

TEST(AffinityTable, AFullWindowReusesAnExpiredEntryThenTheOldest) {
    Table t(16, 1000);
    std::vector<std::uint64_t> s;
    for (std::uint64_t i = 0; i < AffinityTable::kProbe; ++i) {
        s.push_back(7 + 16 * i);
        t.table.remember(s.back(), 1);
        t.clock.advance(10);
    }
    // The window is full: the oldest (s[0]) makes room.
    t.table.remember(7 + 16 * 100, 2);
    EXPECT_EQ(t.table.find(7 + 16 * 100), 2);
    EXPECT_FALSE(t.table.find(s[0]));
    EXPECT_EQ(t.table.find(s[1]), 1);
    // Once everything has expired, a new session takes an expired entry.
    t.clock.advance(2000);
    t.table.remember(7 + 16 * 200, 4);
    EXPECT_EQ(t.table.find(7 + 16 * 200), 4);
}

TEST(AffinityTable, AnEntryWhoseValueIsAnotherSessionsReadsAsEmpty) {
    Table t(16);
    const std::uint64_t a = 0x1234'0000'0000'0003, b = 0x9999'0000'0000'0003;
    t.table.remember(a, 1);
    // b's writer has swapped the key but not yet written its value.
    t.entries[3].key.store(b);
    EXPECT_FALSE(t.table.find(b));
}

TEST(AffinityTable, TwoProcessesShareOneTable) {
    constexpr std::size_t n = 64;
    void* mem = ::mmap(nullptr, sizeof(AffinityEntry) * n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(mem, MAP_FAILED);
    auto* entries = new (mem) AffinityEntry[n]();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        shared::FakeClock clock;
        AffinityTable child(std::span(entries, n), clock);
        child.remember(AffinityTable::hash("from-the-child"), 5);
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    shared::FakeClock clock;
    AffinityTable parent(std::span(entries, n), clock);
    EXPECT_EQ(parent.find(AffinityTable::hash("from-the-child")), 5);
    ::munmap(mem, sizeof(AffinityEntry) * n);
}

}  // namespace
}  // namespace ccr::worker::routing
