#include "cli/top.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

namespace ccr::cli {
namespace {

namespace stats = shared::stats;

stats::ProviderStats provider(const char* name, std::uint64_t requests) {
    stats::ProviderStats p;
    p.name = name;
    p.counters.requests = requests;
    p.counters.attempt_2xx = requests;
    p.counters.output_tokens = 10 * requests;
    p.counters.ttfb.buckets[stats::bucket_of(200'000)] = requests;  // 200 ms each
    return p;
}

stats::Snapshot snapshot(std::int64_t at_ms, std::uint64_t a_requests, std::uint64_t b_requests) {
    stats::Snapshot s;
    s.segment = "/cc-relay-8787";
    s.generation = 2;
    s.configured_workers = 2;
    s.taken_unix_ms = at_ms;
    s.uptime_s = 100;
    s.providers = {provider("anthropic", a_requests), provider("zai", b_requests)};
    stats::ClientStats c;
    c.name = "alice";
    c.requests = 3;
    s.clients.push_back(c);
    return s;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// The line of the frame that starts with `name`.
std::string row(const std::vector<std::string>& lines, const std::string& name) {
    for (const auto& l : lines)
        if (l.rfind(name + " ", 0) == 0) return l;
    ADD_FAILURE() << "no row " << name << " in\n" << joined(lines);
    return "";
}

// The cells of a row, split on spaces.
std::vector<std::string> cells(const std::string& line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while ((i = line.find_first_not_of(' ', i)) != std::string::npos) {
        const std::size_t end = line.find(' ', i);
        out.push_back(line.substr(i, end - i));
        i = end;
    }
    return out;
}

int sort_column(TopView view, const std::string& name) {
    const auto& cols = top_sort_columns(view);
    const auto it = std::find(cols.begin(), cols.end(), name);
    EXPECT_NE(it, cols.end()) << name;
    return static_cast<int>(it - cols.begin());
}

TEST(Top, RatesComeFromTheDifferenceBetweenTwoReadings) {
    const stats::Snapshot before = snapshot(10'000, 10, 100);
    const stats::Snapshot now = snapshot(12'000, 30, 104);  // +20 and +4 over 2 s
    const auto lines = render_top(now, &before, {});
    // PROVIDER REQS REQ/S INFL ERR% TTFB50 TTFB99 TOK/S CIRCUIT
    const auto a = cells(row(lines, "anthropic"));
    ASSERT_EQ(a.size(), 9U) << row(lines, "anthropic");
    EXPECT_EQ(a[1], "30") << "the requests so far";
    EXPECT_EQ(a[2], "10.0");
    EXPECT_EQ(a[3], "0") << "in flight";
    EXPECT_EQ(a[4], "0.0") << "no failed attempts";
    EXPECT_EQ(a[7], "100.0") << "10 output tokens a request";
    EXPECT_EQ(a[8], "closed");
    EXPECT_EQ(cells(row(lines, "zai"))[2], "2.0");
    EXPECT_EQ(cells(row(lines, "zai"))[7], "20.0");
    EXPECT_NE(joined(lines).find("rates over 2.0s"), std::string::npos);
}

TEST(Top, WithoutAPreviousReadingTheRatesAreOverTheUptime) {
    const auto lines = render_top(snapshot(12'000, 200, 0), nullptr, {});  // 100 s up
    EXPECT_EQ(cells(row(lines, "anthropic"))[2], "2.0");
    EXPECT_EQ(cells(row(lines, "zai"))[4], "-") << "no attempts, no error rate";
    EXPECT_NE(joined(lines).find("rates over the uptime"), std::string::npos);
}

TEST(Top, TimeToFirstByteQuantilesAreThoseOfTheWindow) {
    stats::Snapshot before = snapshot(10'000, 1000, 0);
    before.providers[0].counters.ttfb = {};
    before.providers[0].counters.ttfb.buckets[stats::bucket_of(10'000)] = 1000;  // 1000 at 10 ms
    stats::Snapshot now = before;
    now.taken_unix_ms = 11'000;
    now.providers[0].counters.ttfb.buckets[stats::bucket_of(2'000'000)] += 10;  // then 10 at 2 s
    stats::Histogram window;
    window.buckets[stats::bucket_of(2'000'000)] = 10;
    char p50[16];
    std::snprintf(p50, sizeof p50, "%.0f", stats::percentile_ms(window, 0.50));
    EXPECT_EQ(cells(row(render_top(now, &before, {}), "anthropic"))[5], p50);
    char cumulative[16];
    std::snprintf(cumulative, sizeof cumulative, "%.1f",
                  stats::percentile_ms(now.providers[0].counters.ttfb, 0.50));
    EXPECT_EQ(cells(row(render_top(now, nullptr, {}), "anthropic"))[5], cumulative)
        << "over the uptime at first";
}

TEST(Top, ErrorRateIsTheShareOfFailedAttemptsInTheWindow) {
    const stats::Snapshot before = snapshot(10'000, 100, 0);
    stats::Snapshot now = snapshot(11'000, 103, 0);
    now.providers[0].counters.attempt_5xx = 1;  // 3 good and 1 failed attempt since
    EXPECT_EQ(cells(row(render_top(now, &before, {}), "anthropic"))[4], "25.0");
}

TEST(Top, ACounterThatWentBackCountsFromZero) {
    const stats::Snapshot before = snapshot(10'000, 1000, 0);
    const stats::Snapshot now = snapshot(12'000, 4, 0);  // the counters restarted
    EXPECT_EQ(cells(row(render_top(now, &before, {}), "anthropic"))[2], "2.0");
}

TEST(Top, SortingByRequestRatePutsTheBusiestFirst) {
    const stats::Snapshot before = snapshot(10'000, 10, 100);
    const stats::Snapshot now =
        snapshot(12'000, 50, 110);  // zai has more requests, anthropic more req/s
    TopFrame f;
    f.sort = sort_column(TopView::providers, "req/s");
    const std::string by_rate = joined(render_top(now, &before, f));
    EXPECT_LT(by_rate.find("anthropic"), by_rate.find("zai")) << by_rate;
    f.sort = sort_column(TopView::providers, "requests");
    const std::string by_count = joined(render_top(now, &before, f));
    EXPECT_LT(by_count.find("zai"), by_count.find("anthropic")) << by_count;
    EXPECT_NE(by_count.find("sort: requests"), std::string::npos);
    f.sort = 0;
    const std::string configured = joined(render_top(snapshot(12'000, 1, 9), nullptr, f));
    EXPECT_LT(configured.find("anthropic"), configured.find("zai")) << configured;
}

TEST(Top, KeysQuitSwitchViewsCycleTheSortAndPause) {
    TopFrame f;
    f.sort = 2;
    EXPECT_EQ(top_key('v', f), TopKey::redraw);
    EXPECT_EQ(f.view, TopView::clients);
    EXPECT_EQ(f.sort, 0) << "a new view starts in its configured order";
    EXPECT_EQ(top_key('\t', f), TopKey::redraw);
    EXPECT_EQ(f.view, TopView::workers);
    EXPECT_EQ(top_key('v', f), TopKey::redraw);
    EXPECT_EQ(f.view, TopView::providers);
    for (std::size_t i = 1; i <= top_sort_columns(TopView::providers).size(); ++i) {
        EXPECT_EQ(top_key('s', f), TopKey::redraw);
        EXPECT_EQ(f.sort, static_cast<int>(i % top_sort_columns(TopView::providers).size()));
    }
    EXPECT_EQ(top_key('p', f), TopKey::redraw);
    EXPECT_TRUE(f.paused);
    EXPECT_NE(joined(render_top(snapshot(1, 1, 1), nullptr, f)).find("[paused]"),
              std::string::npos);
    EXPECT_EQ(top_key('p', f), TopKey::redraw);
    EXPECT_FALSE(f.paused);
    EXPECT_EQ(top_key('x', f), TopKey::ignored);
    EXPECT_EQ(top_key('q', f), TopKey::quit);
}

TEST(Top, TheWorkersViewShowsPidGenerationStateAndServed) {
    stats::Snapshot before = snapshot(10'000, 0, 0);
    stats::WorkerStats w;
    w.slot = 1;
    w.pid = 4242;
    w.alive = true;
    w.generation = 3;
    w.state = stats::WorkerState::ready;
    w.requests = 10;
    before.workers.push_back(w);
    stats::WorkerStats gone = w;
    gone.slot = 2;
    gone.alive = false;
    gone.state = stats::WorkerState::exited;
    before.workers.push_back(gone);
    stats::Snapshot now = before;
    now.taken_unix_ms = 12'000;
    now.workers[0].requests = 16;
    TopFrame f;
    f.view = TopView::workers;
    const auto lines = render_top(now, &before, f);
    // SLOT PID GEN STATE RESTARTS SERVED REQ/S INFL
    EXPECT_EQ(cells(row(lines, "1")),
              (std::vector<std::string>{"1", "4242", "3", "ready", "0", "16", "3.0", "0"}));
    EXPECT_EQ(joined(lines).find("\n2 "), std::string::npos) << "an exited slot is left out";
}

TEST(Top, TheCircuitColumnShowsTheBreakerAndADisabledProvider) {
    stats::Snapshot now = snapshot(12'000, 1, 1);
    now.providers[0].breaker.state = stats::BreakerState::open;
    now.providers[0].breaker.open_for_ms = 11'500;
    now.providers[1].disabled = true;
    stats::ProviderStats relay = provider("relay", 2);
    relay.relay = true;
    now.providers.push_back(relay);
    const auto lines = render_top(now, nullptr, {});
    EXPECT_NE(row(lines, "anthropic").find("open 12s"), std::string::npos);
    EXPECT_EQ(cells(row(lines, "zai")).back(), "disabled");
    EXPECT_EQ(cells(row(lines, "relay")).back(), "-");
}

TEST(Top, TheClientsViewShowsEachClientOrSaysThereAreNone) {
    TopFrame f;
    f.view = TopView::clients;
    const auto lines = render_top(snapshot(12'000, 1, 1), nullptr, f);
    EXPECT_EQ(cells(row(lines, "alice"))[2], "3");
    stats::Snapshot none = snapshot(12'000, 1, 1);
    none.clients.clear();
    EXPECT_NE(joined(render_top(none, nullptr, f)).find("no clients"), std::string::npos);
}

TEST(Top, EveryLineFitsTheWidth) {
    stats::Snapshot now = snapshot(12'000, 123'456'789, 1);
    now.providers[0].name = std::string(60, 'n');
    for (TopView v : {TopView::providers, TopView::clients, TopView::workers}) {
        for (int width : {20, 60, 80, 200}) {
            TopFrame f;
            f.view = v;
            f.width = width;
            for (const std::string& l : render_top(now, nullptr, f))
                EXPECT_LE(l.size(), static_cast<std::size_t>(width)) << l;
        }
    }
    TopFrame wide;
    wide.width = 200;
    EXPECT_NE(joined(render_top(now, nullptr, wide)).find(std::string(60, 'n') + " "),
              std::string::npos)
        << "a wide terminal shows the whole name";
    EXPECT_EQ(cells(render_top(now, nullptr, {})[4])[1], "123.5M")
        << "a count cut to fit its column";
}

TEST(Top, AFrameFitsTheHeightAndCountsTheRowsLeftOut) {
    stats::Snapshot now = snapshot(12'000, 1, 1);
    for (int i = 0; i < 30; ++i)
        now.providers.push_back(provider(("p" + std::to_string(i)).c_str(), 1));
    TopFrame f;
    f.height = 12;
    const auto lines = render_top(now, nullptr, f);
    ASSERT_EQ(lines.size(), 12U) << joined(lines);
    EXPECT_EQ(lines[10], "") << joined(lines);
    EXPECT_EQ(lines[11].rfind("q quit", 0), 0U) << "the keys stay on the screen";
    EXPECT_EQ(lines[9], "... 27 more") << "32 rows, 5 shown";
}

TEST(Top, PlainFramesLeaveOutTheKeys) {
    TopFrame f;
    EXPECT_EQ(render_top(snapshot(1, 1, 1), nullptr, f).back().rfind("q quit", 0), 0U);
    f.keys = false;
    EXPECT_EQ(joined(render_top(snapshot(1, 1, 1), nullptr, f)).find("q quit"), std::string::npos);
}

}  // namespace
}  // namespace ccr::cli
