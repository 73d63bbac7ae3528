#pragma once
// The admin listener (`server.admin.listen`), served by a process of its own that the master
// forks and respawns ("cc-relay: admin"): the master forks workers, so it runs no threads and no
// sockets of its own beyond the listeners, and a slow scrape can never hold up supervision.
// The admin process reads the stats segment and writes only the providers' disabled flags; a
// reload it asks for is the master's SIGHUP.
//
//   GET  /metrics        Prometheus text format 0.0.4 (shared/stats/prometheus.h)
//   GET  /admin/status   {"version", "generation", "master_pid", "started_unix_ms", "uptime_s",
//                        "workers_configured", "workers_ready", "workers": [{"slot", "pid",
//                        "alive", "ready", "generation", "state", "served", "requests", ...}],
//                        "last_reload": null | {"ok", "generation", "unix_ms", "message"}}
//   GET  /admin/providers  [{"name", "type", "gone", "relay", "disabled", "breaker": {"state",
//                        "open_for_ms", "count"}, and the counters of `stats --json`}]
//   GET  /admin/clients  [{"name", "gone", "requests", "tokens": {"input", "output"},
//                        "rate_limited", "cost_micro_usd", "budget_used_today"}] (never keys)
//   POST /admin/reload   reloads the config as `cc-relay reload` does and answers its outcome:
//                        200 {"ok":true,"generation":N} or 500 {"ok":false,"error":"reload
//                        failed: <the reason>"} (the words `cc-relay reload` prints)
//   POST /admin/providers/<name>/disable, /enable   takes a provider out of rotation (or back):
//                        200 {"provider":"<name>","disabled":true|false}; 404 for an unknown name.
//                        Held in the segment's provider row, so it outlives reloads until changed
//                        again; a restart starts with every provider enabled.
//
// With `server.admin.bearer_token` every request needs `Authorization: Bearer <token>` (401
// otherwise, compared in constant time). Other paths 404; other methods 405 with Allow; errors are
// {"error": "..."}. Changing server.admin takes effect at the next restart (a reload logs so).

#include <memory>
#include <string>

#include "shared/config/config.h"

namespace ccr::master {

/// Serves the admin listener on `fd` (bound and listening) until SIGTERM/SIGINT. Returns the
/// process's exit code.
int run_admin(int fd, std::shared_ptr<const shared::Config> cfg, const std::string& shm_name);

}  // namespace ccr::master
