#pragma once
// A client's daily token budget (clients[].daily_token_budget), service-wide: one word of the
// shared segment (ClientRow::budget) holding the UTC day and the tokens used that day. The first
// charge of a new UTC day resets it by CAS, so no process has to be awake at midnight.

#include <atomic>
#include <cstdint>

namespace ccr::worker::limits {

class DailyBudget {
  public:
    /// `limit` tokens per UTC day; <= 0: unlimited.
    DailyBudget(std::atomic<std::uint64_t>& word, std::int64_t limit);

    struct Check {
        bool ok = true;
        std::int64_t retry_after_ms = 0;  // when !ok: until the next UTC midnight
    };
    /// May a request start now (`unix_ms`: wall time)? No while today's use has reached the limit.
    Check check(std::int64_t unix_ms) const;
    /// Adds tokens used by an answer to the day `unix_ms` falls in.
    void charge(std::int64_t tokens, std::int64_t unix_ms);
    /// Tokens used on the UTC day of `unix_ms`.
    std::int64_t used(std::int64_t unix_ms) const;

    static std::int64_t day_of(std::int64_t unix_ms);
    static std::int64_t next_midnight_ms(std::int64_t unix_ms);

  private:
    std::atomic<std::uint64_t>& word_;
    std::int64_t limit_;
};

}  // namespace ccr::worker::limits
