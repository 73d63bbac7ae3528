#include "shared/stats/prometheus.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace ccr::shared::stats {
namespace {

// A strict reader of the text format 0.0.4: every line a HELP, a TYPE or a sample; names and
// labels well formed; every sample's family declared before it; no family declared twice.
struct Sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value;
};
struct Exposition {
    std::map<std::string, std::string> types;
    std::vector<Sample> samples;
};

Exposition parse(const std::string& text, std::string& error) {
    Exposition e;
    std::istringstream in(text);
    std::string line;
    const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
    std::set<std::string> helped;
    int n = 0;
    while (std::getline(in, line)) {
        ++n;
        auto fail = [&](const std::string& why) { error = "line " + std::to_string(n) + ": " + why + ": " + line; };
        if (line.rfind("# HELP ", 0) == 0) {
            const std::string rest = line.substr(7);
            const std::string name = rest.substr(0, rest.find(' '));
            if (!std::regex_match(name, name_re) || !helped.insert(name).second) return fail("bad or repeated HELP"), e;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0) {
            std::istringstream t(line.substr(7));
            std::string name, type;
            t >> name >> type;
            if (!std::regex_match(name, name_re) || e.types.count(name) ||
                (type != "counter" && type != "gauge" && type != "histogram"))
                return fail("bad TYPE"), e;
            e.types[name] = type;
            continue;
        }
        Sample s;
        std::size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = line.substr(0, i);
        if (!std::regex_match(s.name, name_re)) return fail("bad name"), e;
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (line[i] != '}') {
                std::size_t eq = line.find('=', i);
                if (eq == std::string::npos || line[eq + 1] != '"') return fail("bad label"), e;
                std::string key = line.substr(i, eq - i), value;
                if (!std::regex_match(key, std::regex("[a-zA-Z_][a-zA-Z0-9_]*")) || s.labels.count(key))
                    return fail("bad or repeated label name"), e;
                std::size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] == '\\') {
                        ++j;
                        if (line[j] != '\\' && line[j] != '"' && line[j] != 'n') return fail("bad escape"), e;
                    }
                    value += line[j];
                }
                if (j >= line.size()) return fail("unterminated label"), e;
                s.labels[key] = value;
                i = j + 1;
                if (line[i] == ',') ++i;
                else if (line[i] != '}') return fail("bad label list"), e;
            }
            ++i;
        }
        if (i >= line.size() || line[i] != ' ') return fail("no value"), e;
        try {
            std::size_t used = 0;
            s.value = std::stod(line.substr(i + 1), &used);
            if (used != line.size() - i - 1) return fail("trailing text"), e;
        } catch (...) {
            return fail("bad value"), e;
        }
        std::string family = s.name;
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string sf(suffix);
            if (!e.types.count(family) && family.size() > sf.size() &&
                family.compare(family.size() - sf.size(), sf.size(), sf) == 0)
                family = family.substr(0, family.size() - sf.size());
        }
        if (!e.types.count(family)) return fail("sample before its TYPE"), e;
        e.samples.push_back(s);
    }
    return e;
}

Snapshot sample_snapshot() {
    Snapshot s;
    s.generation = 3;
    s.configured_workers = 2;
    s.reload.seq = 4;
    s.reload.ok = 1;
    ProviderStats a;
    a.name = "anthropic \"main\"";
    a.counters.requests = 7;
    a.counters.status_2xx = 6;
    a.counters.status_5xx = 1;
    a.counters.attempt_2xx = 6;
    a.counters.attempt_5xx = 2;
    a.counters.input_tokens = 100;
    a.counters.cost_micro_usd = 1'500'000;
    for (std::uint64_t us : {900ULL, 3000ULL, 3000ULL, 4'000'000ULL}) {
        a.counters.ttfb.buckets[bucket_of(us)] += 1;
        a.counters.ttfb.sum_us += us;
    }
    ProviderStats relay;
    relay.name = "relay";
    relay.relay = true;
    relay.counters.requests = 2;
    relay.counters.status_4xx = 2;
    s.providers = {a, relay};
    ClientStats c;
    c.name = "alice";
    c.requests = 5;
    c.input_tokens = 40;
    c.cache_read_tokens = 9;
    c.status_2xx = 3;
    c.status_4xx = 1;
    c.client_aborts = 1;
    c.cost_micro_usd = 250'000;
    s.clients = {c};
    return s;
}

TEST(Prometheus, TheExpositionParsesStrictly) {
    std::string error;
    const Exposition e = parse(render_prometheus(sample_snapshot()), error);
    ASSERT_TRUE(error.empty()) << error;
    EXPECT_EQ(e.types.at("cc_relay_requests_total"), "counter");
    EXPECT_EQ(e.types.at("cc_relay_time_to_first_byte_seconds"), "histogram");
    EXPECT_EQ(e.types.at("cc_relay_in_flight"), "gauge");
}

double value(const Exposition& e, const std::string& name, const std::map<std::string, std::string>& labels) {
    for (const Sample& s : e.samples) {
        if (s.name != name) continue;
        bool match = true;
        for (const auto& [k, v] : labels) match = match && s.labels.count(k) && s.labels.at(k) == v;
        if (match) return s.value;
    }
    ADD_FAILURE() << "no sample " << name;
    return -1;
}

TEST(Prometheus, SamplesCarryTheSnapshotsNumbers) {
    std::string error;
    const Exposition e = parse(render_prometheus(sample_snapshot()), error);
    ASSERT_TRUE(error.empty()) << error;
    const std::string a = "anthropic \"main\"";  // escaped on the wire, read back whole
    EXPECT_EQ(value(e, "cc_relay_requests_total", {{"provider", a}}), 7);
    EXPECT_EQ(value(e, "cc_relay_requests_total", {{"provider", "relay"}}), 2);
    EXPECT_EQ(value(e, "cc_relay_responses_total", {{"provider", a}, {"class", "5xx"}}), 1);
    EXPECT_EQ(value(e, "cc_relay_upstream_attempts_total", {{"provider", a}, {"outcome", "5xx"}}), 2);
    EXPECT_EQ(value(e, "cc_relay_tokens_total", {{"provider", a}, {"kind", "input"}}), 100);
    EXPECT_DOUBLE_EQ(value(e, "cc_relay_cost_usd_total", {{"provider", a}}), 1.5);
    EXPECT_EQ(value(e, "cc_relay_client_requests_total", {{"client", "alice"}}), 5);
    EXPECT_EQ(value(e, "cc_relay_reloads_total", {}), 2);
    EXPECT_EQ(value(e, "cc_relay_last_reload_success", {}), 1);
    EXPECT_EQ(value(e, "cc_relay_circuit_state", {{"provider", a}, {"state", "closed"}}), 1);
}

TEST(Prometheus, HistogramBucketsAreCumulativeAndEndInCount) {
    std::string error;
    const Exposition e = parse(render_prometheus(sample_snapshot()), error);
    ASSERT_TRUE(error.empty()) << error;
    double previous_le = -1, previous = 0, inf = -1;
    for (const Sample& s : e.samples) {
        if (s.name != "cc_relay_time_to_first_byte_seconds_bucket" || s.labels.at("provider") != "anthropic \"main\"")
            continue;
        if (s.labels.at("le") == "+Inf") {
            inf = s.value;
            continue;
        }
        const double le = std::stod(s.labels.at("le"));
        EXPECT_GT(le, previous_le);
        EXPECT_GE(s.value, previous);
        previous_le = le;
        previous = s.value;
    }
    EXPECT_EQ(inf, 4);
    EXPECT_EQ(value(e, "cc_relay_time_to_first_byte_seconds_count", {{"provider", "anthropic \"main\""}}), 4);
    EXPECT_DOUBLE_EQ(value(e, "cc_relay_time_to_first_byte_seconds_sum", {{"provider", "anthropic \"main\""}}),
                     4.0069);
    EXPECT_EQ(value(e, "cc_relay_time_to_first_byte_seconds_bucket", {{"provider", "anthropic \"main\""}, {"le", "0.001024"}}),
              1);
    EXPECT_EQ(value(e, "cc_relay_time_to_first_byte_seconds_bucket", {{"provider", "anthropic \"main\""}, {"le", "0.004096"}}),
              3);
}

TEST(Prometheus, EveryHistogramOfEveryProviderIsCumulativeAndCountsAsItsInfBucket) {
    Snapshot snap = sample_snapshot();
    for (std::uint64_t us : {0ULL, 5ULL, 70'000ULL, 2'000'000'000ULL}) {  // the first and the open-ended bucket
        snap.providers[1].counters.total.buckets[bucket_of(us)] += 1;
        snap.providers[1].counters.total.sum_us += us;
    }
    std::string error;
    const Exposition e = parse(render_prometheus(snap), error);
    ASSERT_TRUE(error.empty()) << error;
    int checked = 0;
    for (const HistogramInfo& h : kHistogramInfo) {
        const std::string name = "cc_relay_" + std::string(h.metric);
        EXPECT_EQ(e.types.at(name), "histogram");
        for (const ProviderStats& p : snap.providers) {
            double previous_le = -1, previous = 0, inf = -1, count = -1;
            for (const Sample& s : e.samples) {
                if (s.labels.count("provider") == 0 || s.labels.at("provider") != p.name) continue;
                if (s.name == name + "_count") count = s.value;
                if (s.name != name + "_bucket") continue;
                ASSERT_EQ(inf, -1) << "a bucket after +Inf";
                if (s.labels.at("le") == "+Inf") {
                    inf = s.value;
                    continue;
                }
                const double le = std::stod(s.labels.at("le"));
                EXPECT_GT(le, previous_le) << name;
                EXPECT_GE(s.value, previous) << name << " le=" << le;
                previous_le = le;
                previous = s.value;
            }
            EXPECT_GE(inf, previous) << name;
            EXPECT_EQ(inf, count) << name << " " << p.name;
            EXPECT_EQ(count, static_cast<double>((p.counters.*h.field).count())) << name << " " << p.name;
            ++checked;
        }
    }
    EXPECT_EQ(checked, 3 * 2);
    EXPECT_EQ(value(e, "cc_relay_request_duration_seconds_count", {{"provider", "relay"}}), 4);
    // 2e9 us is above the last finite edge: only in +Inf.
    EXPECT_EQ(value(e, "cc_relay_request_duration_seconds_bucket", {{"provider", "relay"}, {"le", "0.004096"}}), 2);
}

TEST(Prometheus, ClientsHaveTheirOwnFamiliesFromTheClientList) {
    std::string error;
    const Exposition e = parse(render_prometheus(sample_snapshot()), error);
    ASSERT_TRUE(error.empty()) << error;
    for (const auto& decl : kClientCounterInfo) EXPECT_EQ(e.types.at("cc_relay_" + std::string(decl.metric)), "counter");
    EXPECT_EQ(value(e, "cc_relay_client_responses_total", {{"client", "alice"}, {"class", "4xx"}}), 1);
    EXPECT_EQ(value(e, "cc_relay_client_aborted_requests_total", {{"client", "alice"}}), 1);
    EXPECT_EQ(value(e, "cc_relay_client_tokens_total", {{"client", "alice"}, {"kind", "cache_read"}}), 9);
    EXPECT_DOUBLE_EQ(value(e, "cc_relay_client_cost_usd_total", {{"client", "alice"}}), 0.25);
    EXPECT_EQ(value(e, "cc_relay_build_info", {}), 1);
    // No clients: no client families.
    Snapshot none = sample_snapshot();
    none.clients.clear();
    const Exposition without = parse(render_prometheus(none), error);
    ASSERT_TRUE(error.empty()) << error;
    for (const auto& [name, type] : without.types) {
        EXPECT_TRUE(name.rfind("cc_relay_client_", 0) != 0 || name == "cc_relay_client_aborts_total") << name;
    }
}

}  // namespace
}  // namespace ccr::shared::stats
