#include "shared/stats/segment.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <stdexcept>
#include <thread>

#include "tests/shared/stats/segment_test_util.h"

namespace ccr::shared::stats {
namespace {

using testing::ScopedName;

/// A pid that is certainly not running: a child that has exited and been reaped.
pid_t dead_pid() {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    return pid;
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

TEST(Segment, CreateInitialisesTheHeader) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    const Header& h = seg->header();
    EXPECT_EQ(h.magic, kMagic);
    EXPECT_EQ(h.version, kVersion);
    EXPECT_EQ(h.size, sizeof(Layout));
    EXPECT_EQ(h.master_pid.load(), ::getpid());
    EXPECT_GT(h.start_unix_ms.load(), 0);
    EXPECT_EQ(h.reload_ok.load(), -1);
    EXPECT_EQ(h.reload_seq.load(), 0u);
    EXPECT_EQ(h.provider_count.load(), 0);
    EXPECT_EQ(seg->layout().counters[kMaxWorkers - 1][kMaxProviders - 1].requests.load(), 0u);
}

TEST(Segment, CreateSetsMode0640DespiteTheUmask) {
    ScopedName name;
    const mode_t old = ::umask(077);
    auto seg = Segment::create(name.get());
    ::umask(old);
    struct stat st {};
    ASSERT_EQ(::stat(("/dev/shm" + name.get()).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(Segment, OpenSeesWhatTheCreatorWrote) {
    ScopedName name;
    auto master = Segment::create(name.get());
    master->header().generation.store(7);
    auto reader = Segment::open(name.get(), false);
    EXPECT_EQ(reader->header().generation.load(), 7u);
    auto worker = Segment::open(name.get(), true);
    worker->layout().counters[3][1].requests.fetch_add(5);
    EXPECT_EQ(reader->layout().counters[3][1].requests.load(), 5u);
}

TEST(Segment, OpenOfAMissingSegmentSaysNoInstanceIsRunning) {
    ScopedName name;
    const std::string msg = error_of([&] { Segment::open(name.get(), false); });
    EXPECT_NE(msg.find("no running cc-relay instance: shared memory " + name.get() + " not found"),
              std::string::npos)
        << msg;
    EXPECT_NE(msg.find("--config"), std::string::npos) << msg;
}

TEST(Segment, OpenRejectsAnotherLayoutVersionWithAnActionableMessage) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    seg->header().version = kVersion + 1;
    const std::string msg = error_of([&] { Segment::open(name.get(), false); });
    EXPECT_EQ(msg, "segment " + name.get() + " has layout version " + std::to_string(kVersion + 1) +
                       ", this cc-relay reads version " + std::to_string(kVersion) +
                       ": restart the service or use the matching cc-relay binary");
}

TEST(Segment, OpenRejectsSomethingThatIsNotASegment) {
    ScopedName name;
    const int fd = ::shm_open(name.get().c_str(), O_CREAT | O_RDWR, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 100), 0);
    ::close(fd);
    EXPECT_NE(error_of([&] { Segment::open(name.get(), false); }).find("too small"),
              std::string::npos);
}

TEST(Segment, CreateRefusesASegmentWhoseMasterIsAlive) {
    ScopedName name;
    auto first = Segment::create(name.get());
    // Our own pid is exempt (a master re-creating its own segment): pretend another owns it.
    const pid_t child = ::fork();
    if (child == 0) {
        ::pause();
        ::_exit(0);
    }
    first->header().master_pid.store(child);
    const std::string msg = error_of([&] { Segment::create(name.get()); });
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    EXPECT_EQ(msg,
              "another cc-relay master (pid " + std::to_string(child) + ") owns " + name.get());
}

TEST(Segment, CreateReplacesAStaleSegmentWhoseMasterIsDead) {
    ScopedName name;
    auto stale = Segment::create(name.get());
    stale->header().master_pid.store(dead_pid());
    stale->layout().counters[0][0].requests.store(99);
    auto fresh = Segment::create(name.get());
    EXPECT_EQ(fresh->header().master_pid.load(), ::getpid());
    EXPECT_EQ(fresh->layout().counters[0][0].requests.load(), 0u);
    // The old mapping still points at the unlinked object, not at the new one.
    EXPECT_EQ(stale->layout().counters[0][0].requests.load(), 99u);
}

TEST(Segment, CreateReplacesASegmentOfAnotherVersion) {
    ScopedName name;
    auto old = Segment::create(name.get());
    old->header().version = kVersion + 1;  // our pid is alive, but the layout is not ours
    old->header().master_pid.store(1);
    auto fresh = Segment::create(name.get());
    EXPECT_EQ(fresh->header().version, kVersion);
}

TEST(Segment, ProviderRowsAreKeyedByNameAndSurviveReregistration) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    EXPECT_EQ(seg->provider_row("anthropic"), 0);
    EXPECT_EQ(seg->provider_row("zai"), 1);
    EXPECT_EQ(seg->provider_row("anthropic"), 0);  // a reload registers the same names again
    EXPECT_EQ(seg->header().provider_count.load(), 2);
    auto reader = Segment::open(name.get(), false);
    EXPECT_EQ(reader->find_provider_row("zai"), 1);
    EXPECT_EQ(reader->find_provider_row("minimax"), -1);
}

TEST(Segment, ProviderRowIsMinusOneWhenTheTableIsFull) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    for (int i = 0; i < kMaxProviders; ++i)
        ASSERT_EQ(seg->provider_row("p" + std::to_string(i)), i);
    EXPECT_EQ(seg->provider_row("one-too-many"), -1);
    EXPECT_EQ(seg->provider_row("p5"), 5);
}

TEST(Segment, LongProviderNamesAreFoundByTheirStoredPrefix) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    const std::string long_name(100, 'x');
    const int row = seg->provider_row(long_name);
    EXPECT_EQ(seg->find_provider_row(long_name), row);
}

TEST(Segment, ReloadResultIsReadBackWhole) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    EXPECT_EQ(seg->reload_result().ok, -1);
    seg->set_reload_result(false, 3, "config.yaml:4:3: unknown provider type \"foo\"");
    auto r = seg->reload_result();
    EXPECT_EQ(r.seq, 2u);
    EXPECT_EQ(r.ok, 0);
    EXPECT_EQ(r.generation, 3u);
    EXPECT_EQ(r.message, "config.yaml:4:3: unknown provider type \"foo\"");
    seg->set_reload_result(true, 4, "");
    r = seg->reload_result();
    EXPECT_EQ(r.seq, 4u);
    EXPECT_EQ(r.ok, 1);
    EXPECT_EQ(r.message, "");
}

TEST(Segment, ReloadResultTruncatesALongMessage) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    seg->set_reload_result(false, 1, std::string(kMessageLen * 2, 'e'));
    EXPECT_EQ(seg->reload_result().message.size(), static_cast<std::size_t>(kMessageLen - 1));
}

TEST(Segment, ReloadResultReadersNeverSeeAHalfWrittenOutcome) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    auto reader = Segment::open(name.get(), false);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (std::uint64_t i = 1; i <= 20000; ++i) {
            const bool ok = i % 2 == 0;
            // The message names the generation and outcome: a torn read would mismatch.
            seg->set_reload_result(ok, i, (ok ? "ok " : "failed ") + std::to_string(i));
        }
        done = true;
    });
    int checked = 0;
    auto check = [&] {
        const auto r = reader->reload_result();
        if (r.seq == 0 || r.seq % 2 != 0) return;
        ++checked;
        ASSERT_EQ(r.message, (r.ok == 1 ? "ok " : "failed ") + std::to_string(r.generation));
        ASSERT_EQ(r.ok == 1, r.generation % 2 == 0);
    };
    while (!done) check();
    writer.join();
    // An optimised writer may finish before the reader's first look; the last outcome must read
    // back whole all the same.
    check();
    EXPECT_GT(checked, 0);
    EXPECT_EQ(reader->reload_result().generation, 20000u);
}

TEST(Segment, BucketsAreLogScaleInMicroseconds) {
    EXPECT_EQ(bucket_of(0), 0);
    EXPECT_EQ(bucket_of(1), 1);
    EXPECT_EQ(bucket_of(2), 2);
    EXPECT_EQ(bucket_of(3), 2);
    EXPECT_EQ(bucket_of(4), 3);
    EXPECT_EQ(bucket_of(1000), 10);  // [512, 1024)
    EXPECT_EQ(bucket_of(~0ULL), kBuckets - 1);
    EXPECT_EQ(bucket_upper_us(0), 1u);
    EXPECT_EQ(bucket_upper_us(10), 1024u);
    for (std::uint64_t us : {0ULL, 1ULL, 7ULL, 999ULL, 123456ULL}) {
        EXPECT_LT(us, bucket_upper_us(bucket_of(us)));
    }
}

}  // namespace
}  // namespace ccr::shared::stats
