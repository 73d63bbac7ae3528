#pragma once
// The Prometheus text exposition (format 0.0.4) of a snapshot, for GET /metrics on the admin
// listener. Every family comes from the same declarations as `stats` (counters.h), so the two
// cannot disagree: per provider (label `provider`; the relay's own answers as provider="relay"),
// per client where client keys are in use (label `client`), and the instance (generation,
// workers, restarts, reloads, build).

#include <string>

#include "shared/stats/snapshot.h"

namespace ccr::shared::stats {

/// The exposition of `s`: `# HELP` and `# TYPE` once per family, then its samples.
std::string render_prometheus(const Snapshot& s);

/// `v` as a Prometheus label value: backslash, double quote and newline escaped.
std::string prometheus_label_value(std::string_view v);

}  // namespace ccr::shared::stats
