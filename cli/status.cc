// `cc-relay status`: is the instance a config describes healthy? Master alive, every configured
// worker alive and ready, the last reload, and a GET /health on the listening address. Exit 0
// only when all of it holds.

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/instance.h"
#include "shared/config/config.h"
#include "shared/stats/snapshot.h"

namespace ccr::cli {

namespace stats = shared::stats;

namespace {

constexpr int kTimeoutMs = 2000;

struct Probe {
    int status = 0;     // HTTP status, 0: no answer
    std::string error;  // why there is no answer
};

/// Closes the socket on every path.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

bool connect_with_timeout(int fd, const addrinfo* ai, std::string& error) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            error = std::strerror(errno);
            return false;
        }
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, kTimeoutMs) != 1) {
            error = "connect timed out";
            return false;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            error = std::strerror(err);
            return false;
        }
    }
    ::fcntl(fd, F_SETFL, flags);
    timeval tv{kTimeoutMs / 1000, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return true;
}

/// GET /health over a plain blocking socket; reads just the status line.
Probe probe_health(const std::string& host, std::uint16_t port) {
    Probe r;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
        rc != 0) {
        r.error = std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
        return r;
    }
    Fd sock;
    for (const addrinfo* ai = res; ai != nullptr && sock.fd < 0; ai = ai->ai_next) {
        sock.fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (sock.fd < 0) continue;
        if (!connect_with_timeout(sock.fd, ai, r.error)) {
            ::close(sock.fd);
            sock.fd = -1;
        }
    }
    ::freeaddrinfo(res);
    if (sock.fd < 0) return r;
    const bool v6 = host.find(':') != std::string::npos;
    const std::string request = "GET /health HTTP/1.1\r\nHost: " + (v6 ? "[" + host + "]" : host) +
                                ":" + std::to_string(port) +
                                "\r\nUser-Agent: cc-relay-status\r\nConnection: close\r\n\r\n";
    if (::send(sock.fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
        r.error = std::string("send: ") + std::strerror(errno);
        return r;
    }
    std::string head;
    char buf[512];
    while (head.find("\r\n") == std::string::npos && head.size() < 4096) {
        const ssize_t n = ::recv(sock.fd, buf, sizeof buf, 0);
        if (n <= 0) {
            r.error = n == 0 ? "connection closed before a response" : "no response within 2 s";
            return r;
        }
        head.append(buf, static_cast<std::size_t>(n));
    }
    // "HTTP/1.1 200 OK"
    if (head.rfind("HTTP/1.", 0) != 0 || head.size() < 12) {
        r.error = "not an HTTP response";
        return r;
    }
    r.status = std::atoi(head.c_str() + 9);
    return r;
}

/// Where to probe: a wildcard listen address is reached on loopback.
std::string probe_host(const std::string& host) {
    if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") return "127.0.0.1";
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        return host.substr(1, host.size() - 2);
    }
    return host;
}

std::string reload_text(const stats::Segment::ReloadResult& r) {
    if (r.ok == 1) return "ok, generation " + std::to_string(r.generation);
    if (r.ok == 0) return "failed: " + r.message;
    return "none";
}

int status(const StatusOptions& opts) {
    Instance instance;
    try {
        instance = find_instance({opts.config_path, opts.listen, opts.shm});
    } catch (const stats::SegmentError& e) {
        using Kind = stats::SegmentError::Kind;
        if (e.kind() == Kind::not_found) {
            std::cout << "status: not running\n";
            std::cerr << "cc-relay: " << e.what() << "\n";
            return kStatusNotRunning;
        }
        // It exists: whether it runs is unknown to this user, which "not running" would hide.
        std::cout << "status: unknown: "
                  << (e.kind() == Kind::permission ? "the instance's shared memory exists but this "
                                                     "user may not read it"
                                                   : "the instance's shared memory cannot be read")
                  << "\n";
        std::cerr << "cc-relay: " << e.what() << "\n";
        return kStatusUnknown;
    }
    const stats::Segment* seg = instance.segment.get();
    const stats::Snapshot s = stats::take_snapshot(*seg);
    std::vector<std::string> problems;

    std::cout << "instance:    " << s.segment;
    if (!instance.config.empty()) std::cout << " (config " << instance.config << ")";
    std::cout << "\n";
    std::cout << "master:      pid " << s.master_pid
              << (s.master_alive ? " (running)" : " (not running)") << "\n";
    if (!s.master_alive)
        problems.push_back("master pid " + std::to_string(s.master_pid) + " is not running");
    std::cout << "uptime:      " << stats::format_duration(s.uptime_s) << "\n";
    std::cout << "generation:  " << s.generation << "\n";
    const int ready = s.workers_ready();
    std::cout << "workers:     " << ready << "/" << s.configured_workers << " ready\n";
    for (const stats::WorkerStats& w : s.workers) {
        if (w.alive && w.state == stats::WorkerState::ready) continue;
        if (!w.alive && w.state == stats::WorkerState::exited) continue;  // a past generation
        std::cout << "             slot " << w.slot << ": pid " << w.pid << " "
                  << stats::state_name(w.state) << (w.alive ? "" : " (gone)") << ", restarts "
                  << w.restarts << "\n";
    }
    if (ready < s.configured_workers || s.configured_workers == 0) {
        problems.push_back(std::to_string(ready) + " of " + std::to_string(s.configured_workers) +
                           " workers ready");
    }
    std::cout << "last reload: " << reload_text(s.reload) << "\n";

    // The master records the address it actually bound (an ephemeral port included).
    const std::string& listen_text = instance.listen;
    const auto listen = shared::parse_listen(listen_text);
    if (!listen) {
        problems.push_back("listen address " + listen_text + " is not host:port");
    } else {
        const std::string host = probe_host(listen->host);
        const Probe p = probe_health(host, listen->port);
        const std::string where = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                                  ":" + std::to_string(listen->port);
        if (p.status != 0) {
            std::cout << "health:      GET http://" << where << "/health: " << p.status << "\n";
        } else {
            std::cout << "health:      GET http://" << where << "/health: " << p.error << "\n";
        }
        if (p.status != 200) {
            problems.push_back(
                "/health on " + where +
                (p.status != 0 ? " answered " + std::to_string(p.status) : ": " + p.error));
        }
    }

    if (problems.empty()) {
        std::cout << "status:      healthy\n";
        return 0;
    }
    std::string why;
    for (const std::string& p : problems) why += (why.empty() ? "" : "; ") + p;
    std::cout << "status:      unhealthy: " << why << "\n";
    return 1;
}

}  // namespace

int run_status(const StatusOptions& opts) { return status(opts); }

}  // namespace ccr::cli
