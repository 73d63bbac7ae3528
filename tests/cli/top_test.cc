#include "cli/top.h"

#include <gtest/gtest.h>

namespace ccr::cli {
namespace {

namespace stats = shared::stats;

stats::Snapshot snapshot(std::int64_t at_ms, std::uint64_t a_requests, std::uint64_t b_requests) {
    stats::Snapshot s;
    s.segment = "/cc-relay-8787";
    s.generation = 2;
    s.configured_workers = 2;
    s.taken_unix_ms = at_ms;
    s.uptime_s = 100;
    for (auto [name, n] : {std::pair{"anthropic", a_requests}, std::pair{"zai", b_requests}}) {
        stats::ProviderStats p;
        p.name = name;
        p.counters.requests = n;
        p.counters.attempt_2xx = n;
        p.counters.output_tokens = 10 * n;
        p.counters.ttfb.buckets[stats::bucket_of(200'000)] = n;  // 200 ms each
        s.providers.push_back(p);
    }
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

TEST(Top, RatesComeFromTheDifferenceBetweenTwoReadings) {
    const stats::Snapshot before = snapshot(10'000, 10, 100);
    const stats::Snapshot now = snapshot(12'000, 30, 104);  // +20 and +4 over 2 s
    const std::string frame = joined(render_top(now, &before, {}));
    EXPECT_NE(frame.find("anthropic"), std::string::npos) << frame;
    EXPECT_NE(frame.find("10.0"), std::string::npos) << "20 requests in 2 s: " << frame;
    EXPECT_NE(frame.find(" 2.0"), std::string::npos) << frame;
    EXPECT_NE(frame.find("100"), std::string::npos) << "10 output tokens a request: " << frame;
    EXPECT_NE(frame.find("rates over 2.0s"), std::string::npos);
}

TEST(Top, SortingByRequestRatePutsTheBusiestFirst) {
    const stats::Snapshot before = snapshot(10'000, 10, 100);
    const stats::Snapshot now = snapshot(12'000, 11, 140);
    TopFrame f;
    f.sort = 1;  // req/s
    const auto lines = render_top(now, &before, f);
    const std::string frame = joined(lines);
    EXPECT_LT(frame.find("zai"), frame.find("anthropic")) << frame;
    f.sort = 0;
    const std::string configured = joined(render_top(now, &before, f));
    EXPECT_LT(configured.find("anthropic"), configured.find("zai")) << configured;
}

TEST(Top, EveryLineFitsTheWidthAndEachViewShowsItsRows) {
    const stats::Snapshot now = snapshot(12'000, 1, 1);
    for (TopView v : {TopView::providers, TopView::clients, TopView::workers}) {
        for (int width : {60, 80, 200}) {
            TopFrame f;
            f.view = v;
            f.width = width;
            for (const std::string& l : render_top(now, nullptr, f)) EXPECT_LE(l.size(), static_cast<std::size_t>(width)) << l;
        }
    }
    TopFrame clients;
    clients.view = TopView::clients;
    EXPECT_NE(joined(render_top(now, nullptr, clients)).find("alice"), std::string::npos);
}

}  // namespace
}  // namespace ccr::cli
