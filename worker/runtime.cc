#include "worker/runtime.h"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>

namespace ccr::worker {

Runtime::Runtime(boost::asio::io_context& io, std::shared_ptr<const shared::Config> cfg)
    : ioc(io), config(std::move(cfg)), pool(io), json(make_json_parser()) {
    for (const auto& pc : config->providers) {
        if (pc.enabled) providers.push_back(make_provider(pc));
    }
}

Runtime::~Runtime() = default;

const Provider* Runtime::find_provider(std::string_view name) const {
    for (const auto& p : providers) {
        if (p->name() == name) return p.get();
    }
    return nullptr;
}

void Runtime::maybe_finish_drain() {
    if (draining && sessions == 0) ioc.stop();
}

void Runtime::start_drain(std::chrono::milliseconds window) {
    if (draining) return;
    draining = true;
    drain_deadline = std::chrono::steady_clock::now() + window;
    if (on_drain_start) on_drain_start();
    pool.clear();
    // Idle keep-alive connections wait for their next request (answered with Connection: close)
    // until the deadline; sessions shorten their idle wait to it.
    for (auto& s : streams) {
        if (!s.busy) s.stream->expires_at(std::min(drain_deadline, std::chrono::steady_clock::now() +
                                                                     std::chrono::milliseconds(
                                                                         config->server.idle_timeout_ms)));
    }
    auto timer = std::make_shared<boost::asio::steady_timer>(ioc, drain_deadline);
    timer->async_wait([this, timer](const boost::system::error_code&) {
        if (!streams.empty())
            spdlog::warn("drain window over: closing {} connection(s) still open", streams.size());
        for (auto& s : streams) s.stream->close();
        ioc.stop();
    });
    maybe_finish_drain();
}

}  // namespace ccr::worker
