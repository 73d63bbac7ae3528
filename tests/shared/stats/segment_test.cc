#include "shared/stats/segment.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

/// Runs `f` in a child process as nobody:nogroup (65534) and returns what it returned.
std::string as_nobody(const std::function<std::string()>& f) {
    int fds[2];
    if (::pipe(fds) != 0) return "pipe failed";
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(fds[0]);
        std::string out;
        const gid_t groups[] = {65534};
        if (::setgroups(1, groups) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
            out = "cannot become nobody";
        } else {
            try {
                out = f();
            } catch (const std::exception& e) {
                out = std::string("exception: ") + e.what();
            }
        }
        const ssize_t written = ::write(fds[1], out.data(), out.size());
        ::_exit(written == static_cast<ssize_t>(out.size()) ? 0 : 1);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        out.append(buf, static_cast<std::size_t>(n));
    ::close(fds[0]);
    ::waitpid(pid, nullptr, 0);
    return out;
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
    try {
        Segment::open(name.get(), false);
        FAIL() << "no exception";
    } catch (const SegmentError& e) {
        EXPECT_EQ(e.kind(), SegmentError::Kind::not_found);
        EXPECT_EQ(std::string(e.what()),
                  "no running cc-relay instance: shared memory " + name.get() + " not found");
    }
}

TEST(Segment, OpenWithoutReadPermissionSaysSoAndWhichGroupMayRead) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    ScopedName name;
    auto seg = Segment::create(name.get());  // root:root 0640
    const std::string out = as_nobody([&]() -> std::string {
        try {
            Segment::open(name.get(), false);
            return "opened";
        } catch (const SegmentError& e) {
            return (e.kind() == SegmentError::Kind::permission ? "permission: " : "other: ") +
                   std::string(e.what());
        }
    });
    EXPECT_EQ(out, "permission: permission denied opening shared memory " + name.get() +
                       " (/dev/shm" + name.get() +
                       ": owner root, group root, mode 0640): the stats are readable by group "
                       "root: join it (sudo usermod -aG root $USER, then log in again) or run "
                       "this command as root");
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
    EXPECT_EQ(msg, "another cc-relay master (pid " + std::to_string(child) +
                       ") owns shared memory " + name.get() + " (/dev/shm" + name.get() +
                       "): stop it, or give this instance another port or server.shm_name");
}

TEST(Segment, CreateReplacesAStaleSegmentOfAnotherUserWhenItMay) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    ScopedName name;
    const pid_t dead = dead_pid();
    EXPECT_EQ(as_nobody([&] {
                  Segment::create(name.get())->header().master_pid.store(dead);
                  return std::string("created");
              }),
              "created");
    auto fresh = Segment::create(name.get());  // root may remove another user's file
    EXPECT_EQ(fresh->header().master_pid.load(), ::getpid());
}

TEST(Segment, CreateNamesTheFileAndTheCommandWhenAStaleSegmentCannotBeReplaced) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    ScopedName name;
    const pid_t dead = dead_pid();
    {
        auto stale = Segment::create(name.get());  // root's, as a crashed instance leaves it
        stale->header().master_pid.store(dead);
    }
    ASSERT_EQ(::chmod(("/dev/shm" + name.get()).c_str(), 0644), 0);  // readable by nobody
    const std::string path = "/dev/shm" + name.get();
    const std::string readable =
        as_nobody([&] { return error_of([&] { Segment::create(name.get()); }); });
    EXPECT_EQ(readable, "shared memory " + name.get() + " already exists (" + path +
                            ": owner root, group root, mode 0644; its master, pid " +
                            std::to_string(dead) +
                            ", is not running) and user nobody may not replace it (Permission "
                            "denied). It is most likely left by a crashed cc-relay of root: if "
                            "no cc-relay of root is running with it, remove it with `sudo rm " +
                            path +
                            "` and start again; or give this instance another "
                            "server.shm_name");

    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);  // not even readable: whether it runs is unknown
    const std::string unreadable =
        as_nobody([&] { return error_of([&] { Segment::create(name.get()); }); });
    EXPECT_NE(unreadable.find("mode 0600; this user cannot read it to check whether its master "
                              "still runs) and user nobody may not replace it"),
              std::string::npos)
        << unreadable;
    EXPECT_NE(unreadable.find("`sudo rm " + path + "`"), std::string::npos) << unreadable;
}

TEST(Segment, CreateGivesTheSegmentToTheStatsGroupWithMode0640) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown to another group";
    ScopedName name;
    const struct group* g = ::getgrnam("nogroup");
    if (g == nullptr) GTEST_SKIP() << "no group nogroup";
    const gid_t gid = g->gr_gid;
    const mode_t old = ::umask(077);
    auto seg = Segment::create(name.get(), "nogroup");
    ::umask(old);
    struct stat st {};
    ASSERT_EQ(::stat(("/dev/shm" + name.get()).c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, gid);
    EXPECT_EQ(st.st_mode & 0777, 0640u);
    // A member of the group reads the stats.
    EXPECT_EQ(as_nobody([&] {
                  Segment::open(name.get(), false);
                  return std::string("opened");
              }),
              "opened");
    // Back to the master's own group (server.stats_group removed on reload).
    seg->set_group("");
    ASSERT_EQ(::stat(("/dev/shm" + name.get()).c_str(), &st), 0);
    EXPECT_EQ(st.st_gid, ::getegid());
}

TEST(Segment, CreateWithAnUnknownStatsGroupSaysHowToCreateIt) {
    ScopedName name;
    EXPECT_EQ(error_of([&] { Segment::create(name.get(), "ccr-no-such-group"); }),
              "server.stats_group: no group named \"ccr-no-such-group\" on this host (create "
              "it: `groupadd ccr-no-such-group`, or systemd-sysusers with the shipped "
              "cc-relay.conf)");
    struct stat st {};
    EXPECT_NE(::stat(("/dev/shm" + name.get()).c_str(), &st), 0) << "nothing left behind";
}

TEST(Segment, CreateWithAGroupTheMasterIsNotInFailsNamingTheFix) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
    ScopedName name;
    const std::string msg =
        as_nobody([&] { return error_of([&] { Segment::create(name.get(), "daemon"); }); });
    EXPECT_EQ(msg, "server.stats_group: cannot give shared memory " + name.get() +
                       " to group daemon: fchown: Operation not permitted (the service user "
                       "nobody must be a member of daemon: `usermod -aG daemon nobody`)");
}

TEST(Segment, ListFindsTheSegmentsThisUserCanRead) {
    ScopedName name;
    ScopedName other;
    auto seg = Segment::create(name.get());
    const int fd = ::shm_open(other.get().c_str(), O_CREAT | O_RDWR, 0600);  // not a segment
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, sizeof(Layout)), 0);
    ::close(fd);
    const std::vector<std::string> names = Segment::list();
    EXPECT_NE(std::find(names.begin(), names.end(), name.get()), names.end());
    EXPECT_EQ(std::find(names.begin(), names.end(), other.get()), names.end());
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

TEST(Segment, ARetiredProviderIsMarkedGoneAndComesBackWithItsRow) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    seg->provider_row("anthropic");
    seg->provider_row("zai");
    seg->layout().providers[1].breaker.store(12345);
    seg->retire_providers_except({"anthropic"});
    EXPECT_EQ(seg->layout().providers[0].gone.load(), 0u);
    EXPECT_EQ(seg->layout().providers[1].gone.load(), 1u);
    EXPECT_EQ(seg->provider_row("zai"), 1);  // a later reload brings it back
    EXPECT_EQ(seg->layout().providers[1].gone.load(), 0u);
    EXPECT_EQ(seg->layout().providers[1].breaker.load(), 12345u) << "its state is kept";
}

TEST(Segment, KeyRowsAreKeyedByProviderAndFingerprintNeverByTheKey) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    const std::uint64_t a = key_fingerprint("sk-ant-secret-a");
    const std::uint64_t b = key_fingerprint("sk-ant-secret-b");
    EXPECT_NE(a, b);
    EXPECT_EQ(key_fingerprint(""), 0xe3b0c44298fc1c14ULL);  // SHA-256 of nothing, first 8 bytes
    EXPECT_EQ(seg->key_row("anthropic", a), 0);
    EXPECT_EQ(seg->key_row("anthropic", b), 1);
    EXPECT_EQ(seg->key_row("zai", a), 2) << "the same key under another provider is another row";
    EXPECT_EQ(seg->key_row("anthropic", a), 0);
    auto reader = Segment::open(name.get(), false);
    EXPECT_EQ(reader->find_key_row("anthropic", b), 1);
    EXPECT_EQ(reader->find_key_row("zai", b), -1);
    // The key's text is nowhere in the segment.
    const auto* bytes = reinterpret_cast<const char*>(&seg->layout());
    const std::string_view all(
        bytes, sizeof(Header) + sizeof(seg->layout().providers) + sizeof(seg->layout().keys));
    EXPECT_EQ(all.find("secret"), std::string_view::npos);
}

TEST(Segment, KeyRowIsMinusOneWhenTheTableIsFull) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    for (int i = 0; i < kMaxKeys; ++i)
        ASSERT_EQ(seg->key_row("p", static_cast<std::uint64_t>(i)), i);
    EXPECT_EQ(seg->key_row("p", 1'000'000), -1);
}

TEST(Segment, ClientRowsAreKeyedByNameAndRetiredLikeProviders) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    EXPECT_EQ(seg->client_row("alice"), 0);
    EXPECT_EQ(seg->client_row("bob"), 1);
    EXPECT_EQ(seg->client_row("alice"), 0);
    EXPECT_EQ(seg->header().client_count.load(), 2);
    EXPECT_EQ(Segment::open(name.get(), false)->find_client_row("bob"), 1);
    seg->retire_clients_except({"bob"});
    EXPECT_EQ(seg->layout().clients[0].gone.load(), 1u);
    EXPECT_EQ(seg->layout().clients[1].gone.load(), 0u);
    EXPECT_EQ(seg->client_row("alice"), 0);
    EXPECT_EQ(seg->layout().clients[0].gone.load(), 0u);
    for (int i = 2; i < kMaxClients; ++i) ASSERT_EQ(seg->client_row("c" + std::to_string(i)), i);
    EXPECT_EQ(seg->client_row("one-too-many"), -1);
}

TEST(Segment, RelayingNowIsTheSumOfTheSlotsAndANewWorkerResetsItsSlot) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    seg->claim_slot(0);
    seg->claim_slot(5);
    Header& h = seg->header();
    h.workers[0].relaying.fetch_add(3);
    h.workers[5].relaying.fetch_add(2);
    EXPECT_EQ(h.slots_high.load(), 6);
    EXPECT_EQ(seg->relaying_total(), 5);
    seg->claim_slot(5);  // slot 5's worker died with two requests open; its successor starts
    EXPECT_EQ(seg->relaying_total(), 3);
    EXPECT_EQ(h.slots_high.load(), 6);
    seg->claim_slot(kMaxWorkers);  // out of range: ignored
    EXPECT_EQ(h.slots_high.load(), 6);
}

TEST(Segment, ProviderInFlightIsSummedOverTheClaimedSlots) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    const int row = seg->provider_row("anthropic");
    seg->claim_slot(0);
    seg->claim_slot(2);
    seg->layout().counters[0][row].in_flight.fetch_add(2);
    seg->layout().counters[2][row].in_flight.fetch_add(3);
    seg->layout().counters[2][row].in_flight.fetch_sub(4);  // finished in another order
    EXPECT_EQ(seg->provider_in_flight(row), 1);
    EXPECT_EQ(seg->provider_in_flight(kMaxProviders), 0);
}

TEST(Segment, RouteTurnsCountOnAcrossProcesses) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    EXPECT_EQ(seg->next_route_turn(1), 0u);
    EXPECT_EQ(Segment::open(name.get(), true)->next_route_turn(1), 1u);
    EXPECT_EQ(seg->next_route_turn(1), 2u);
    EXPECT_EQ(seg->next_route_turn(2), 0u) << "each cursor counts on its own";
}

TEST(Segment, EwmaStartsAtTheFirstSampleAndMovesAnEighthOfTheDifference) {
    std::atomic<std::uint64_t> ewma{0};
    EXPECT_EQ(update_ewma(ewma, 800), 800u);
    EXPECT_EQ(update_ewma(ewma, 1'600), 900u);
    EXPECT_EQ(update_ewma(ewma, 100), 800u);
    EXPECT_EQ(ewma.load(), 800u);
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

TEST(Segment, BucketsAreLogLinearInMicroseconds) {
    for (std::uint64_t us = 0; us < 4; ++us) EXPECT_EQ(bucket_of(us), static_cast<int>(us));
    EXPECT_EQ(bucket_of(4), 4);
    EXPECT_EQ(bucket_of(5), 5);
    EXPECT_EQ(bucket_of(8), 8);    // 2^3: the next power's first sub-bucket
    EXPECT_EQ(bucket_of(~0ULL), kBuckets - 1);
    // Every value lies in its bucket, and no bucket below the overflow one is wider than a
    // quarter of its lower bound (the error bound the issue asks for: <= 25% wide).
    for (std::uint64_t us : {0ULL, 1ULL, 7ULL, 999ULL, 123456ULL, 4'000'000ULL, (1ULL << 30) - 1}) {
        const int b = bucket_of(us);
        EXPECT_LE(bucket_lower_us(b), us);
        EXPECT_LT(us, bucket_upper_us(b));
    }
    for (int b = 4; b < kBuckets - 1; ++b) {
        EXPECT_EQ(bucket_upper_us(b), bucket_lower_us(b + 1));
        EXPECT_LE(4 * (bucket_upper_us(b) - bucket_lower_us(b)), bucket_lower_us(b)) << b;
        EXPECT_EQ(bucket_of(bucket_lower_us(b)), b);
        EXPECT_EQ(bucket_of(bucket_upper_us(b) - 1), b);
    }
}


TEST(Segment, ProviderTypeIsReadBackAndTruncatedAtSixteenBytes) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    const int row = seg->provider_row("p");
    EXPECT_EQ(seg->provider_type(row), "");
    seg->set_provider_type(row, "openrouter");
    EXPECT_EQ(Segment::open(name.get(), false)->provider_type(row), "openrouter");
    seg->set_provider_type(row, "anthropic");  // a reload that changed it: no leftover bytes
    EXPECT_EQ(seg->provider_type(row), "anthropic");
    seg->set_provider_type(row, "a-type-longer-than-sixteen");
    EXPECT_EQ(seg->provider_type(row), "a-type-longer-th");
    EXPECT_EQ(seg->provider_type(-1), "");
}

TEST(Segment, ReloadResultRecordsWhenItWasWritten) {
    ScopedName name;
    auto seg = Segment::create(name.get());
    const std::int64_t before = unix_ms_now();
    seg->set_reload_result(true, 2, "reloaded");
    const std::int64_t at = seg->reload_result().unix_ms;
    EXPECT_GE(at, before);
    EXPECT_LE(at, unix_ms_now());
}

}  // namespace
}  // namespace ccr::shared::stats
