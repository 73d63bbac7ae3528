// ccr-bench-json-check: how long check_json (worker/json_check.h) takes on one body, for the
// numbers in bench/analysis.md. Built with the other bench tools, run by hand only (bench/run.sh
// and the test command leave it out):
//
//   bench/gen_bodies.sh /tmp/bodies
//   build/release/bench/ccr-bench-json-check /tmp/bodies/500k.json [runs] [--dom] [--cold]
//                                                                 [--kernel K]
//
// Prints the median and the 10th/90th percentiles of `runs` timed calls (default 2000) after a
// warm-up, and with --dom the same for simdjson's DOM parse of the same bytes, for scale.
// --kernel avx2|sse2|portable runs check_json with that block kernel instead of the best one
// (worker/json_scan.h). --cold evicts the caches before each call (a body read from memory). Under
// callgrind, run it with a small count and divide check_json's inclusive instructions by the
// number of calls (the count plus the warm-up's 3):
//
//   valgrind --tool=callgrind --toggle-collect='ccr::worker::check_json*'
//            build/release/bench/ccr-bench-json-check /tmp/bodies/500k.json 10

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "worker/json_check.h"
#include "worker/json_scan.h"

namespace {

using Clock = std::chrono::steady_clock;

// With --cold, written through before every timed call (not timed): larger than this machine's
// caches, so that the body is read from memory, as in the relay, where 64 connections' bodies
// pass through the caches between the reads that fill a body and the check that reads it.
std::vector<char> evict;

// Times `runs` calls of `f` one by one and prints the spread in µs.
void report(const char* what, std::size_t bytes, int runs, const std::function<bool()>& f) {
    int failures = 0;
    for (int i = 0; i < std::max(runs / 10, 3); ++i) failures += f() ? 0 : 1;  // warm-up
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(runs));
    for (int i = 0; i < runs; ++i) {
        if (!evict.empty()) std::memset(evict.data(), i & 0xff, evict.size());
        const auto t0 = Clock::now();
        failures += f() ? 0 : 1;
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    const auto at = [&](double q) { return us[static_cast<std::size_t>(q * (us.size() - 1))]; };
    std::printf(
        "%-10s %zu bytes, %d runs: median %.1f µs (p10 %.1f, p90 %.1f, min %.1f), %.2f GB/s at the "
        "median%s\n",
        what, bytes, runs, at(0.5), at(0.1), at(0.9), us.front(),
        static_cast<double>(bytes) / at(0.5) / 1e3, failures ? ", REFUSED" : "");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: %s BODY.json [runs] [--dom] [--cold] [--kernel avx2|sse2|portable]\n",
                     argv[0]);
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string body = ss.str();
    int runs = 2000;
    bool dom = false;
    ccr::worker::JsonKernel kernel = ccr::worker::JsonKernel::best;
    for (int i = 2; i < argc; ++i) {
        if (std::strcmp(argv[i], "--dom") == 0) {
            dom = true;
        } else if (std::strcmp(argv[i], "--cold") == 0) {
            evict.resize(std::size_t{256} << 20);
        } else if (std::strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
            const std::string k = argv[++i];
            kernel = k == "avx2"   ? ccr::worker::JsonKernel::avx2
                     : k == "sse2" ? ccr::worker::JsonKernel::sse2
                                   : ccr::worker::JsonKernel::portable;
            if (!ccr::worker::json_kernel_available(kernel)) {
                std::fprintf(stderr, "kernel %s: not on this build or CPU\n", k.c_str());
                return 2;
            }
        } else {
            runs = std::max(1, std::atoi(argv[i]));
        }
    }
    if (kernel == ccr::worker::JsonKernel::best) {
        report("check_json", body.size(), runs, [&] { return !ccr::worker::check_json(body); });
    } else {
        report("check_json", body.size(), runs,
               [&] { return !ccr::worker::check_json(body, ccr::worker::kMaxJsonDepth, kernel); });
    }
    if (dom) {
        simdjson::dom::parser parser;
        const simdjson::padded_string padded(body);
        report("dom", body.size(), runs, [&] {
            simdjson::dom::element e;
            return parser.parse(padded).get(e) == simdjson::SUCCESS;
        });
    }
    return 0;
}
