#pragma once
// The worker's side of the stats segment: counting into its own worker slot (the StatsSink the
// sessions call) and keeping its row of the worker table (heartbeat, state, served). Relaxed
// atomics only: each slot has exactly one writing process, readers sum the slots.

#include <string>
#include <vector>

#include "shared/stats/segment.h"
#include "worker/runtime.h"

namespace ccr::worker {

class ShmStatsSink : public StatsSink {
  public:
    /// `provider_names_by_index[i]` is the name of Runtime::providers[i]; the master registered a
    /// row for each before forking (a name without a row is not counted). A slot belongs to one
    /// live process at a time, so the in-flight counts and the `served` mark a dead predecessor
    /// left behind are cleared. `client_names_by_index[i]` is the name of Config::clients[i]
    /// (its row registered by the master too); a request is counted under its record's client.
    ShmStatsSink(shared::stats::Segment& seg,
                 int worker_slot,
                 const std::vector<std::string>& provider_names_by_index,
                 const std::vector<std::string>& client_names_by_index = {});

    void attempt_started(int provider) override;
    void attempt_finished(int provider, AttemptEnd end, bool failed_over) override;
    void request_finished(const Sample& s) override;
    void worker_ready() override;
    void worker_heartbeat() override;
    void worker_draining() override;

  private:
    shared::stats::ProviderCounters* row(int provider) const;
    void count_client(const Sample& s);
    void set_state(shared::stats::WorkerState state);

    std::vector<shared::stats::ProviderCounters*> rows_;  // by provider index; null: not counted
    std::vector<shared::stats::ClientCounters*> client_rows_;  // by client index; null: not counted
    shared::stats::ProviderCounters* relay_row_ = nullptr;     // the relay's own answers
    shared::stats::WorkerEntry* entry_ = nullptr;         // the slot's row; null: invalid slot
};

}  // namespace ccr::worker
