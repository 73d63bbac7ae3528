#pragma once
// A stable sort for the few elements of a request's candidate and key lists: std::stable_sort
// takes a temporary buffer from the heap on every call, which for three providers costs more
// than the sort.

#include <iterator>
#include <utility>

namespace ccr::worker {

template <class It, class Less>
void insertion_sort(It first, It last, Less less) {
    if (first == last) return;
    for (It i = std::next(first); i != last; ++i) {
        auto value = std::move(*i);
        It hole = i;
        for (It prev = std::prev(hole); less(value, *prev); --prev) {
            *hole = std::move(*prev);
            hole = prev;
            if (prev == first) break;
        }
        *hole = std::move(value);
    }
}

}  // namespace ccr::worker
