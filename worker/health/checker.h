#pragma once
// Active health checks (health.health_check): a provider whose circuit is open gets a cheap
// request (GET <base_url>/v1/models with its credential, over the worker's upstream pool, TLS
// like any request) every interval_ms; an HTTP answer that says the provider is up moves the
// circuit to half-open at once instead of at the end of open_duration_ms. One worker per
// generation runs the checks (WorkerOptions::index 0), not N.

#include <cstdint>
#include <functional>
#include <vector>

#include <boost/asio/awaitable.hpp>

namespace ccr::worker {
struct Runtime;
}

namespace ccr::worker::health {

/// Any HTTP answer below 500 other than 429 counts as alive (a 401 or 404 still proves the
/// provider answers); 0 (no answer: refused, TLS error, timeout), 429 and 5xx do not.
bool check_says_alive(int status);

/// When each provider is next due. Pure, so the schedule is tested with plain numbers.
class CheckSchedule {
  public:
    CheckSchedule(std::size_t providers, std::int64_t interval_ms);
    /// The providers to check at `now_ms`: open (per `is_open`) and not checked in the last
    /// interval. Each one returned is marked as checked now.
    std::vector<int> due(std::int64_t now_ms, const std::function<bool(int)>& is_open);
    std::int64_t interval_ms() const { return interval_ms_; }

  private:
    std::int64_t interval_ms_;
    std::vector<std::int64_t> last_;  // last check by provider, monotonic ms; 0: never
};

/// The checks' loop for the worker that runs them; ends when the worker drains.
boost::asio::awaitable<void> run_health_checks(Runtime& rt);

}  // namespace ccr::worker::health
