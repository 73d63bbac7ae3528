#include "shared/clock.h"

#include <time.h>

namespace ccr::shared {

namespace {

std::int64_t read_ms(clockid_t id) {
    struct timespec ts {};
    // clock_gettime cannot fail for these two clocks with a valid pointer.
    ::clock_gettime(id, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

std::int64_t SystemClock::mono_ms() const { return read_ms(CLOCK_MONOTONIC); }

std::int64_t SystemClock::unix_ms() const { return read_ms(CLOCK_REALTIME); }

const Clock& system_clock() {
    static const SystemClock clock;
    return clock;
}

}  // namespace ccr::shared
