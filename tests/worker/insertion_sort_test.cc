#include "worker/insertion_sort.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace ccr::worker {
namespace {

// The same order as std::stable_sort, equal keys included, on lists of every length up to 12.
TEST(InsertionSort, OrdersAsStdStableSortDoesAndKeepsEqualsInTheirOrder) {
    std::mt19937 rng(7);
    for (std::size_t n = 0; n <= 12; ++n) {
        for (int round = 0; round < 200; ++round) {
            std::vector<std::pair<int, std::size_t>> items;  // (key, original position)
            for (std::size_t i = 0; i < n; ++i) items.emplace_back(static_cast<int>(rng() % 4), i);
            const auto by_key = [](const auto& a, const auto& b) { return a.first > b.first; };
            auto expected = items;
            std::stable_sort(expected.begin(), expected.end(), by_key);
            insertion_sort(items.begin(), items.end(), by_key);
            ASSERT_EQ(items, expected) << "n=" << n << " round=" << round;
        }
    }
}

}  // namespace
}  // namespace ccr::worker
