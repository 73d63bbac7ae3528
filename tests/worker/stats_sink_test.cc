#include "worker/stats_sink.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shared/stats/snapshot.h"
#include "tests/shared/stats/segment_test_util.h"

namespace ccr::worker {
namespace {

namespace stats = shared::stats;
using Sample = StatsSink::Sample;
using namespace std::chrono_literals;

class ShmStatsSinkTest : public ::testing::Test {
  protected:
    void SetUp() override {
        seg_ = stats::Segment::create(name_.get());
        // The master registers rows in its own order; a worker's provider indexes differ.
        seg_->provider_row("zai");
        seg_->provider_row("anthropic");
        for (int slot : {0, 1}) {
            seg_->header().workers[slot].pid.store(::getpid());
            seg_->header().workers[slot].started_unix_ms.store(stats::unix_ms_now());
        }
    }
    Sample ok(int provider) {
        Sample s;
        s.provider = provider;
        s.answered_by = provider;
        s.status = 200;
        s.bytes_in = 1000;
        s.bytes_out = 300;
        s.input_tokens = 10;
        s.output_tokens = 5;
        s.cache_read = 2;
        s.cache_creation = 1;
        s.ttfb = 800us;
        s.total = 3ms;
        s.overhead = 20us;
        return s;
    }

    stats::testing::ScopedName name_;
    std::unique_ptr<stats::Segment> seg_;
    const std::vector<std::string> names_{"anthropic", "zai"};
};

using End = StatsSink::AttemptEnd;

TEST_F(ShmStatsSinkTest, AttemptsCountWhereTheyWentAndTheRequestWhereItsAnswerCameFrom) {
    ShmStatsSink sink(*seg_, 0, names_);
    sink.attempt_started(0);  // anthropic first: 529, failed over
    EXPECT_EQ(stats::take_snapshot(*seg_).providers[1].counters.in_flight, 1);
    sink.attempt_finished(0, End::status_5xx, true);
    sink.attempt_started(1);  // zai answered
    sink.attempt_finished(1, End::status_2xx, false);
    Sample s = ok(1);
    s.failovers = 1;
    sink.request_finished(s);
    const stats::Snapshot snap = stats::take_snapshot(*seg_);
    const stats::Totals& zai = snap.providers[0].counters;
    const stats::Totals& anthropic = snap.providers[1].counters;
    EXPECT_EQ(anthropic.in_flight, 0);
    EXPECT_EQ(zai.in_flight, 0);
    EXPECT_EQ(anthropic.requests, 0u) << "it answered nothing";
    EXPECT_EQ(anthropic.attempt_5xx, 1u);
    EXPECT_EQ(anthropic.failovers, 1u);
    EXPECT_EQ(zai.requests, 1u);
    EXPECT_EQ(zai.status_2xx, 1u);
    EXPECT_EQ(zai.attempt_2xx, 1u);
    EXPECT_EQ(zai.failovers, 0u);
    EXPECT_EQ(snap.totals.attempts(), 2u);
    EXPECT_EQ(snap.totals.requests, 1u);
}

TEST_F(ShmStatsSinkTest, CountsARequestInTheRowOfItsProviderName) {
    ShmStatsSink sink(*seg_, 0, names_);
    sink.request_finished(ok(0));
    const stats::Snapshot s = stats::take_snapshot(*seg_);
    const stats::Totals& a = s.providers[1].counters;
    EXPECT_EQ(s.providers[1].name, "anthropic");
    EXPECT_EQ(a.requests, 1u);
    EXPECT_EQ(a.status_2xx, 1u);
    EXPECT_EQ(a.bytes_in, 1000u);
    EXPECT_EQ(a.bytes_out, 300u);
    EXPECT_EQ(a.input_tokens, 10u);
    EXPECT_EQ(a.output_tokens, 5u);
    EXPECT_EQ(a.cache_read_tokens, 2u);
    EXPECT_EQ(a.cache_creation_tokens, 1u);
    EXPECT_EQ(a.ttfb.buckets[stats::bucket_of(800)], 1u);
    EXPECT_EQ(a.total.buckets[stats::bucket_of(3000)], 1u);
    EXPECT_EQ(a.overhead.buckets[stats::bucket_of(20)], 1u);
    EXPECT_EQ(s.providers[0].counters.requests, 0u);
}

TEST_F(ShmStatsSinkTest, SortsStatusesIntoClassesAndClientAbortsApart) {
    ShmStatsSink sink(*seg_, 0, names_);
    for (int status : {200, 201, 400, 429, 499, 500, 529, 0}) {
        Sample s = ok(1);
        s.status = status;
        sink.request_finished(s);
    }
    const stats::Snapshot snapshot = stats::take_snapshot(*seg_);  // outlives the reference
    const stats::Totals& z = snapshot.providers[0].counters;
    EXPECT_EQ(z.requests, 8u);
    EXPECT_EQ(z.status_2xx, 2u);
    EXPECT_EQ(z.status_4xx, 2u) << "499 is not a 4xx answer: the client left";
    EXPECT_EQ(z.status_5xx, 2u);
    EXPECT_EQ(z.client_aborts, 1u);
    Sample left = ok(1);  // the client left mid-stream: the status line said 200
    left.client_aborted = true;
    sink.request_finished(left);
    const stats::Totals after = stats::take_snapshot(*seg_).providers[0].counters;
    EXPECT_EQ(after.client_aborts, 2u);
    EXPECT_EQ(after.status_2xx, 2u) << "an abandoned answer is an abort, not a 2xx";
}

TEST_F(ShmStatsSinkTest, TheRelaysOwnAnswersHaveTheirOwnRow) {
    ShmStatsSink sink(*seg_, 0, names_);
    for (int status : {401, 400, 404, 503}) {
        Sample s;  // answered by the relay: no provider
        s.status = status;
        s.total = 1ms;
        sink.request_finished(s);
    }
    Sample gone;  // the client left while the relay waited on zai
    gone.provider = 1;
    gone.status = 499;
    sink.request_finished(gone);
    const stats::Snapshot snap = stats::take_snapshot(*seg_);
    ASSERT_EQ(snap.providers.size(), 3u);
    const stats::ProviderStats& relay = snap.providers[2];
    EXPECT_EQ(relay.name, "relay");
    EXPECT_TRUE(relay.relay);
    EXPECT_EQ(relay.counters.requests, 4u);
    EXPECT_EQ(relay.counters.status_4xx, 3u);
    EXPECT_EQ(relay.counters.status_5xx, 1u);
    EXPECT_EQ(snap.providers[0].counters.client_aborts, 1u);
    EXPECT_EQ(snap.totals.requests, 5u);
}

TEST_F(ShmStatsSinkTest, TransportOutcomesAndTokensThatAreNotThere) {
    ShmStatsSink sink(*seg_, 0, names_);
    for (End e : {End::connect, End::timeout, End::reset, End::status_4xx}) {
        sink.attempt_started(0);
        sink.attempt_finished(0, e, e != End::status_4xx);
    }
    Sample s = ok(0);
    s.answered_by = -1;  // every attempt failed: the relay's 502
    s.status = 502;
    s.ttfb = 0us;  // no first byte: no ttfb sample
    s.input_tokens = -1;
    sink.request_finished(s);
    const stats::Snapshot snapshot = stats::take_snapshot(*seg_);  // outlives the reference
    const stats::Totals& a = snapshot.providers[1].counters;
    EXPECT_EQ(a.attempt_connect, 1u);
    EXPECT_EQ(a.attempt_timeout, 1u);
    EXPECT_EQ(a.attempt_reset, 1u);
    EXPECT_EQ(a.attempt_4xx, 1u);
    EXPECT_EQ(a.failovers, 3u);
    EXPECT_EQ(a.failed_attempts(), 3u);
    EXPECT_EQ(a.requests, 0u);
    const stats::Totals& relay = snapshot.providers.back().counters;
    EXPECT_EQ(relay.status_5xx, 1u);
    EXPECT_EQ(relay.ttfb.count(), 0u);
    EXPECT_EQ(relay.total.count(), 1u);
    EXPECT_EQ(relay.input_tokens, 0u);
}

TEST_F(ShmStatsSinkTest, IgnoresProvidersWithoutARowAndOutOfRangeIndexes) {
    ShmStatsSink sink(*seg_, 0, {"anthropic", "not-registered"});
    sink.attempt_started(1);
    sink.attempt_started(7);
    sink.attempt_started(-1);
    sink.attempt_finished(7, End::status_2xx, false);
    Sample s = ok(1);
    sink.request_finished(s);
    s.answered_by = 9;
    sink.request_finished(s);
    EXPECT_EQ(stats::take_snapshot(*seg_).totals.requests, 0u);
    EXPECT_EQ(stats::take_snapshot(*seg_).totals.attempts(), 0u);
}

TEST_F(ShmStatsSinkTest, SnapshotTotalsExactlyTheRequestsOfTwoWorkerProcesses) {
    constexpr int kPerWorker = 500;
    std::vector<pid_t> children;
    for (int slot : {0, 1}) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            // A worker: attach read-write, count into its own slot only.
            auto mine = stats::Segment::open(name_.get(), true);
            ShmStatsSink sink(*mine, slot, names_);
            for (int i = 0; i < kPerWorker; ++i) {
                const int provider = i % 2;
                sink.attempt_started(provider);
                sink.attempt_finished(provider, End::status_2xx, false);
                sink.request_finished(ok(provider));
            }
            sink.worker_heartbeat();  // what the worker's timer calls
            ::_exit(0);
        }
        children.push_back(pid);
    }
    for (pid_t pid : children) {
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    const stats::Snapshot s = stats::take_snapshot(*stats::Segment::open(name_.get(), false));
    EXPECT_EQ(s.totals.requests, 2u * kPerWorker);
    EXPECT_EQ(s.totals.status_2xx, 2u * kPerWorker);
    EXPECT_EQ(s.totals.in_flight, 0);
    EXPECT_EQ(s.providers[0].counters.requests, static_cast<std::uint64_t>(kPerWorker));
    EXPECT_EQ(s.totals.total.count(), 2u * kPerWorker);
    ASSERT_EQ(s.workers.size(), 2u);
    for (const stats::WorkerStats& w : s.workers) {
        EXPECT_EQ(w.requests, static_cast<std::uint64_t>(kPerWorker));
        EXPECT_TRUE(w.served);
        EXPECT_GE(w.heartbeat_age_ms, 0);
    }
}

TEST_F(ShmStatsSinkTest, ANewWorkerInASlotClearsTheInFlightItsPredecessorLeft) {
    {
        ShmStatsSink killed(*seg_, 0, names_);
        killed.attempt_started(0);
        killed.attempt_started(0);
    }
    ShmStatsSink respawned(*seg_, 0, names_);
    const stats::Snapshot snapshot = stats::take_snapshot(*seg_);  // outlives the reference
    const stats::Totals& a = snapshot.providers[1].counters;
    EXPECT_EQ(a.in_flight, 0);
}

TEST_F(ShmStatsSinkTest, ANewWorkerInASlotClearsTheRelayingCountItsPredecessorLeft) {
    {
        ShmStatsSink killed(*seg_, 1, names_);
        seg_->header().workers[1].relaying.fetch_add(3);  // killed while relaying three
    }
    seg_->header().workers[0].relaying.fetch_add(1);
    ShmStatsSink first(*seg_, 0, names_);
    EXPECT_EQ(seg_->relaying_total(), 3) << "slot 0 claimed afresh; slot 1 not yet respawned";
    ShmStatsSink respawned(*seg_, 1, names_);
    EXPECT_EQ(seg_->relaying_total(), 0);
}

TEST_F(ShmStatsSinkTest, WorkerStateIsWrittenToItsSlot) {
    ShmStatsSink sink(*seg_, 1, names_);
    sink.worker_ready();
    EXPECT_EQ(seg_->header().workers[1].state.load(), static_cast<std::uint32_t>(stats::WorkerState::ready));
    sink.worker_draining();
    EXPECT_EQ(seg_->header().workers[1].state.load(),
              static_cast<std::uint32_t>(stats::WorkerState::draining));
    EXPECT_EQ(seg_->header().workers[0].state.load(), 0u) << "another slot's row is untouched";
    ShmStatsSink out_of_range(*seg_, stats::kMaxWorkers, names_);
    out_of_range.worker_ready();  // ignored
    out_of_range.worker_heartbeat();
}

TEST_F(ShmStatsSinkTest, ServedIsSetByTheFirstFinishedRequestOnly) {
    ShmStatsSink sink(*seg_, 0, names_);
    EXPECT_FALSE(stats::take_snapshot(*seg_).workers[0].served);
    sink.attempt_started(0);
    EXPECT_FALSE(stats::take_snapshot(*seg_).workers[0].served) << "started is not answered";
    sink.request_finished(ok(0));
    EXPECT_TRUE(stats::take_snapshot(*seg_).workers[0].served);
    EXPECT_FALSE(stats::take_snapshot(*seg_).workers[1].served);
}

TEST_F(ShmStatsSinkTest, CountsAClientsRequestsTokensCostAnd429sInItsRow) {
    seg_->client_row("bob");
    seg_->client_row("alice");
    ShmStatsSink sink(*seg_, 0, names_, {"alice", "bob", "carol-has-no-row"});
    Sample answered = ok(0);
    answered.client = 0;
    answered.cost_micro_usd = 1'234;
    sink.request_finished(answered);
    Sample refused;  // the client-limits filter's 429: no provider, the relay's own answer
    refused.client = 0;
    refused.status = 429;
    sink.request_finished(refused);
    Sample unknown = ok(0);
    unknown.client = 2;
    sink.request_finished(unknown);
    Sample out_of_range = ok(0);
    out_of_range.client = 7;
    sink.request_finished(out_of_range);
    const stats::Snapshot s = stats::take_snapshot(*seg_);
    ASSERT_EQ(s.clients.size(), 2u);
    const stats::ClientStats& alice = s.clients[1];
    EXPECT_EQ(alice.name, "alice");
    EXPECT_EQ(alice.requests, 2u);
    EXPECT_EQ(alice.rate_limited, 1u);
    EXPECT_EQ(alice.input_tokens, 10u);
    EXPECT_EQ(alice.output_tokens, 5u);
    EXPECT_EQ(alice.cost_micro_usd, 1'234u);
    EXPECT_EQ(alice.cache_read_tokens, 2u);
    EXPECT_EQ(alice.cache_creation_tokens, 1u);
    EXPECT_EQ(alice.status_2xx, 1u);
    EXPECT_EQ(alice.status_4xx, 1u);
    EXPECT_EQ(alice.requests, alice.status_2xx + alice.status_4xx + alice.status_5xx + alice.client_aborts);
    EXPECT_EQ(s.clients[0].requests, 0u);
    EXPECT_EQ(s.providers[1].counters.status_2xx, 3u) << "provider rows count as before";
    EXPECT_EQ(s.providers.back().counters.status_4xx, 1u) << "the 429 is the relay's";
}

TEST_F(ShmStatsSinkTest, AClientThatLeavesCountsAsItsAbortNotAsAnAnswer) {
    seg_->client_row("alice");
    ShmStatsSink sink(*seg_, 0, names_, {"alice"});
    Sample left = ok(0);
    left.client = 0;
    left.client_aborted = true;
    sink.request_finished(left);
    // The snapshot is kept: a reference into the temporary's rows would dangle (ASan caught it).
    const stats::Snapshot s = stats::take_snapshot(*seg_);
    ASSERT_EQ(s.clients.size(), 1u);
    const stats::ClientStats& alice = s.clients[0];
    EXPECT_EQ(alice.requests, 1u);
    EXPECT_EQ(alice.client_aborts, 1u);
    EXPECT_EQ(alice.status_2xx, 0u);
}

}  // namespace
}  // namespace ccr::worker
