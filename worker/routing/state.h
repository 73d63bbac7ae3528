#pragma once
/// What routing strategies read of the whole service (every worker): a shared turn counter for
/// the rotating strategies, requests in flight and recent time to first byte per provider. The
/// shared-memory segment implements it in production; tests use a fake.

#include <cstdint>

namespace ccr::worker::routing {

class RoutingState {
public:
    virtual ~RoutingState() = default;
    /// The service-wide turn: each call returns the next value (0, 1, 2, ... across workers).
    virtual std::uint64_t next_turn() = 0;
    /// Requests in flight at provider `i` (an index into the worker's providers), all workers.
    virtual std::int64_t in_flight(int i) const = 0;
    /// Recent time to first byte at provider `i` in microseconds; 0: not measured yet.
    virtual std::uint64_t recent_ttfb_us(int i) const = 0;
};

/// A state for one process alone (no segment: tests, `stats` off): a local counter, no load.
class LocalRoutingState final : public RoutingState {
public:
    std::uint64_t next_turn() override { return turn_++; }
    std::int64_t in_flight(int) const override { return 0; }
    std::uint64_t recent_ttfb_us(int) const override { return 0; }

private:
    std::uint64_t turn_ = 0;
};

}  // namespace ccr::worker::routing
