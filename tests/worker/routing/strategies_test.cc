// Routing strategies over fake service-wide state: distributions, rotation, priorities, weights.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "worker/providers/provider.h"
#include "worker/routing/router.h"
#include "worker/routing/strategy.h"

namespace ccr::worker::routing {
namespace {

class FakeState final : public RoutingState {
public:
    std::uint64_t next_turn() override { return turn++; }
    std::int64_t in_flight(int i) const override { return load.count(i) ? load.at(i) : 0; }
    std::uint64_t recent_ttfb_us(int i) const override { return ttfb.count(i) ? ttfb.at(i) : 0; }
    std::uint64_t turn = 0;
    std::map<int, std::int64_t> load;
    std::map<int, std::uint64_t> ttfb;
};

struct P {
    std::string name;
    int priority = 0;
    int weight = 0;
    shared::PriceTable pricing = {};
    std::vector<std::pair<std::string, std::string>> mapping = {};
};

Providers make(const std::vector<P>& ps) {
    Providers out;
    for (const P& p : ps) {
        shared::ProviderConfig c;
        c.name = p.name;
        c.type = "anthropic";
        c.enabled = true;
        c.base_url = "http://127.0.0.1:1";
        shared::KeyConfig k;
        k.key = "k";
        k.priority = p.priority;
        k.weight = p.weight;
        c.keys.push_back(k);
        c.pricing = p.pricing;
        c.model_mapping = p.mapping;
        out.push_back(make_provider(c));
    }
    return out;
}

std::vector<int> all(const Providers& ps) {
    std::vector<int> v;
    for (int i = 0; i < static_cast<int>(ps.size()); ++i) v.push_back(i);
    return v;
}

std::vector<int> order(Strategy& s, const Providers& ps, FakeState& st, std::string_view model = "m") {
    std::vector<int> c = all(ps);
    s.order(c, RouteRequest{model, st});
    return c;
}

TEST(Failover, HighestPriorityFirstThenConfigOrder) {
    Providers ps = make({{"a", 0}, {"b", 2}, {"c", 1}, {"d", 2}});
    FakeState st;
    auto s = make_failover(ps);
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{1, 3, 2, 0}));
}

TEST(Failover, DefaultPrioritiesKeepConfigOrder) {
    Providers ps = make({{"a"}, {"b"}, {"c"}});
    FakeState st;
    EXPECT_EQ(order(*make_failover(ps), ps, st), (std::vector<int>{0, 1, 2}));
}

TEST(RoundRobin, EachProviderStartsInTurnAndTheRestFollowAsFailover) {
    Providers ps = make({{"a"}, {"b"}, {"c"}});
    FakeState st;
    auto s = make_round_robin();
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{1, 2, 0}));
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{2, 0, 1}));
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{0, 1, 2}));
}

TEST(WeightedRoundRobin, FollowsNginxSmoothSequence) {
    // nginx's example: weights 5, 1, 1 give a a b a c a a (smooth, not a a a a a b c).
    Providers ps = make({{"a", 0, 5}, {"b", 0, 1}, {"c", 0, 1}});
    FakeState st;
    auto s = make_weighted_round_robin(ps);
    std::string seq;
    for (int i = 0; i < 7; ++i) seq += ps[static_cast<std::size_t>(order(*s, ps, st).front())]->name();
    EXPECT_EQ(seq, "aabacaa");
}

TEST(WeightedRoundRobin, SharesInProportionToWeightOverManyTurns) {
    Providers ps = make({{"a", 0, 3}, {"b", 0, 1}, {"c", 0, 0}});  // weight 0 counts as 1
    FakeState st;
    auto s = make_weighted_round_robin(ps);
    std::map<int, int> firsts;
    for (int i = 0; i < 500; ++i) ++firsts[order(*s, ps, st).front()];
    EXPECT_EQ(firsts[0], 300);
    EXPECT_EQ(firsts[1], 100);
    EXPECT_EQ(firsts[2], 100);
}

TEST(Shuffle, EveryProviderComesFirstOncePerRoundAndOrdersVary) {
    Providers ps = make({{"a"}, {"b"}, {"c"}, {"d"}});
    FakeState st;
    auto s = make_shuffle();
    std::set<std::vector<int>> orders;
    for (int round = 0; round < 50; ++round) {
        std::set<int> firsts;
        for (int k = 0; k < 4; ++k) {
            auto o = order(*s, ps, st);
            firsts.insert(o.front());
            orders.insert(o);
            std::set<int> members(o.begin(), o.end());
            ASSERT_EQ(members.size(), 4u) << "a permutation";
        }
        EXPECT_EQ(firsts.size(), 4u) << "round " << round;
    }
    EXPECT_GT(orders.size(), 10u) << "rounds are shuffled differently";
}

TEST(WeightedFailover, PriorityGroupsFirstAndWeightedWithinAGroup) {
    Providers ps = make({{"low", 0, 1}, {"a", 2, 3}, {"b", 2, 1}});
    FakeState st;
    auto s = make_weighted_failover(ps);
    std::map<int, int> firsts;
    for (int i = 0; i < 4000; ++i) {
        auto o = order(*s, ps, st);
        ASSERT_EQ(o.back(), 0) << "the lower priority stays last";
        ++firsts[o.front()];
    }
    EXPECT_EQ(firsts.count(0), 0u);
    EXPECT_NEAR(firsts[1] / 4000.0, 0.75, 0.04);
    EXPECT_NEAR(firsts[2] / 4000.0, 0.25, 0.04);
}

TEST(LeastLoaded, FewestInFlightServiceWideFirstTiesByPriority) {
    Providers ps = make({{"a", 0}, {"b", 1}, {"c", 0}});
    FakeState st;
    st.load = {{0, 5}, {1, 2}, {2, 2}};
    auto s = make_least_loaded(ps);
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{1, 2, 0}));
    st.load[1] = 9;
    EXPECT_EQ(order(*s, ps, st), (std::vector<int>{2, 0, 1}));
}

TEST(LatencyBased, FastestFirstUnmeasuredFirstAndSometimesExplores) {
    Providers ps = make({{"slow"}, {"fast"}, {"mid"}});
    FakeState st;
    st.ttfb = {{0, 900'000}, {1, 100'000}, {2, 400'000}};
    auto s = make_latency_based();
    std::map<int, int> firsts;
    for (int i = 0; i < 200; ++i) ++firsts[order(*s, ps, st).front()];
    EXPECT_EQ(firsts[1], 190);  // 19 of 20
    EXPECT_EQ(firsts[2], 5);    // exploration alternates over the slower ones
    EXPECT_EQ(firsts[0], 5);
    st.ttfb.erase(0);  // not measured: try it
    st.turn = 0;
    EXPECT_EQ(order(*s, ps, st).front(), 0);
}

shared::ModelPrice price(double in, double out) {
    shared::ModelPrice p;
    p.input_per_mtok = in;
    p.output_per_mtok = out;
    return p;
}

TEST(CostBased, CheapestForTheRequestedModelFirstUnpricedLast) {
    Providers ps = make({{"unpriced", 2},
                         {"dear", 0, 0, {{"claude", price(15, 75)}}},
                         {"cheap", 0, 0, {{"claude-sonnet", price(3, 15)}, {"claude", price(20, 90)}}},
                         {"mapped", 1, 0, {{"glm-4.7", price(0.6, 2.2)}}, {{"claude-sonnet-4-5", "glm-4.7"}}}});
    FakeState st;
    auto s = make_cost_based(ps);
    std::vector<int> c = all(ps);
    s->order(c, RouteRequest{"claude-sonnet-4-5", st, 10'000, 1'000});
    EXPECT_EQ(c, (std::vector<int>{3, 2, 1, 0}));  // the mapped model's price counts
    c = all(ps);
    s->order(c, RouteRequest{"claude-opus-4-6", st, 10'000, 1'000});
    EXPECT_EQ(c, (std::vector<int>{1, 2, 0, 3}));  // "claude" prices: 15/75 beats 20/90
}

TEST(CostBased, OutputHeavyRequestsWeighTheOutputPrice) {
    Providers ps = make({{"cheap-in", 0, 0, {{"m", price(1, 100)}}}, {"cheap-out", 0, 0, {{"m", price(10, 10)}}}});
    FakeState st;
    auto s = make_cost_based(ps);
    std::vector<int> c = all(ps);
    s->order(c, RouteRequest{"m", st, 100'000, 10});
    EXPECT_EQ(c.front(), 0);
    c = all(ps);
    s->order(c, RouteRequest{"m", st, 100, 10'000});
    EXPECT_EQ(c.front(), 1);
}

TEST(ModelBased, LongestPrefixThenDefaultElseAll) {
    Providers ps = make({{"anthropic"}, {"zai"}, {"other"}});
    shared::RoutingConfig cfg;
    cfg.model_mapping = {{"claude", "anthropic"}, {"claude-haiku", "zai"}};
    FakeState st;
    auto s = make_model_based(cfg, ps);
    EXPECT_EQ(order(*s, ps, st, "claude-haiku-4-5"), (std::vector<int>{1}));
    EXPECT_EQ(order(*s, ps, st, "claude-opus"), (std::vector<int>{0}));
    EXPECT_EQ(order(*s, ps, st, "glm"), (std::vector<int>{0, 1, 2}));
    cfg.default_provider = "other";
    EXPECT_EQ(order(*s, ps, st, "glm"), (std::vector<int>{2}));
}

TEST(Router, APassThroughCredentialOnlyReachesProvidersThatForwardIt) {
    Providers ps = make({{"keyed"}});
    shared::ProviderConfig sub;
    sub.name = "sub";
    sub.type = "anthropic";
    sub.enabled = true;
    ps.push_back(make_provider(sub));
    shared::Config cfg;
    FakeState st;
    Router r(cfg, ps, st);
    EXPECT_EQ(r.route({"m", Endpoint::messages, AuthGrant::relay_key}).candidates, (std::vector<int>{0, 1}));
    EXPECT_EQ(r.route({"m", Endpoint::messages, AuthGrant::passthrough}).candidates, (std::vector<int>{1}));
    ps.pop_back();
    Router only_keyed(cfg, ps, st);
    EXPECT_EQ(only_keyed.route({"m", Endpoint::messages, AuthGrant::passthrough}).refusal,
              RouteResult::Refusal::passthrough_only);
}

class FakeHealth final : public HealthView {
public:
    bool is_open(int i) const override { return open.count(i) > 0; }
    std::int64_t open_until(int i) const override { return until.count(i) ? until.at(i) : 0; }
    std::set<int> open;
    std::map<int, std::int64_t> until;
};

TEST(Router, OpenCircuitsAreDroppedInOrderAndWhenAllAreOpenTheSoonestToReopenIsTried) {
    Providers ps = make({{"a"}, {"b"}, {"c"}, {"d"}});
    shared::Config cfg;
    FakeState st;
    FakeHealth health;
    Router r(cfg, ps, st, &health);
    const RouteQuery q{"m", Endpoint::messages, AuthGrant::relay_key};
    health.open = {0, 2};
    RouteResult res = r.route(q);
    EXPECT_EQ(res.candidates, (std::vector<int>{1, 3}));
    EXPECT_FALSE(res.all_open);
    health.open = {0, 1, 2, 3};
    health.until = {{0, 900}, {1, 500}, {2, 700}, {3, 500}};
    res = r.route(q);
    EXPECT_EQ(res.candidates, (std::vector<int>{1})) << "the first of the soonest";
    EXPECT_TRUE(res.all_open);
}

TEST(Router, AConversationWithThinkingFollowsFailoverOrderNotTheStrategy) {
    Providers ps = make({{"a"}, {"b", 1}, {"c"}});
    shared::Config cfg;
    cfg.routing.kind = shared::RoutingStrategy::round_robin;
    FakeState st;
    Router r(cfg, ps, st);
    RouteQuery q{"m", Endpoint::messages, AuthGrant::relay_key};
    q.keep_provider = true;
    for (int turn = 0; turn < 3; ++turn) {
        const RouteResult res = r.route(q);
        EXPECT_EQ(res.candidates, (std::vector<int>{1, 0, 2}));
        EXPECT_EQ(res.origin, 1);
    }
}

TEST(Router, TheSessionsProviderComesFirstWhileItsCircuitIsClosed) {
    Providers ps = make({{"a"}, {"b"}, {"c"}});
    shared::Config cfg;
    FakeState st;
    FakeHealth health;
    Router r(cfg, ps, st, &health);
    RouteQuery q{"m", Endpoint::messages, AuthGrant::relay_key};
    q.keep_provider = true;
    q.preferred = 2;
    EXPECT_EQ(r.route(q).candidates, (std::vector<int>{2, 0, 1}));
    EXPECT_EQ(r.route(q).origin, 2);
    health.open = {2};
    const RouteResult moved = r.route(q);
    EXPECT_EQ(moved.candidates, (std::vector<int>{0, 1}));
    EXPECT_EQ(moved.origin, 2) << "the signatures are still the session's provider's";
}

TEST(Router, WithoutThinkingThereIsNoOriginAndTheStrategyOrders) {
    Providers ps = make({{"a"}, {"b"}});
    shared::Config cfg;
    cfg.routing.kind = shared::RoutingStrategy::round_robin;
    FakeState st;
    Router r(cfg, ps, st);
    RouteQuery q{"m", Endpoint::messages, AuthGrant::relay_key};
    q.preferred = 1;  // ignored without keep_provider
    EXPECT_EQ(r.route(q).candidates, (std::vector<int>{0, 1}));
    EXPECT_EQ(r.route(q).candidates, (std::vector<int>{1, 0}));
    EXPECT_EQ(r.route(q).origin, -1);
}

}  // namespace
}  // namespace ccr::worker::routing
