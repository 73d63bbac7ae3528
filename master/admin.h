#pragma once
// The admin listener (`server.admin.listen`), served by a process of its own that the master
// forks and respawns ("cc-relay: admin"): the master forks workers, so it runs no threads and no
// sockets of its own beyond the listeners, and a slow scrape can never hold up supervision.
// The admin process reads the stats segment and writes only the providers' disabled flags; a
// reload it asks for is the master's SIGHUP.
//
//   GET  /metrics        Prometheus text format 0.0.4 (shared/stats/prometheus.h)
//   GET  /admin/status   the `cc-relay stats --json` object: generation, workers, providers with
//                        breaker state and counters, clients, totals, and what each field means
//   GET  /admin/providers, /admin/clients   its "providers" and "clients" arrays alone
//   POST /admin/reload   reloads the config as `cc-relay reload` does and answers its outcome:
//                        200 {"ok":true,"generation":N} or 500 {"ok":false,"error":"<the reason>"}
//   POST /admin/providers/<name>/disable, /enable   takes a provider out of rotation (or back);
//                        held in the segment, so it outlives reloads until changed again
//
// With `server.admin.bearer_token` every request needs `Authorization: Bearer <token>` (401
// otherwise). Other paths 404; other methods 405 with Allow.

#include <memory>
#include <string>

#include "shared/config/config.h"

namespace ccr::master {

/// Serves the admin listener on `fd` (bound and listening) until SIGTERM/SIGINT. Returns the
/// process's exit code.
int run_admin(int fd, std::shared_ptr<const shared::Config> cfg, const std::string& shm_name);

}  // namespace ccr::master
