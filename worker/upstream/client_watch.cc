#include "worker/upstream/client_watch.h"

#include "worker/upstream/pool.h"

namespace ccr::worker::upstream {

namespace net = boost::asio;

struct ClientWatch::Peek {
    ClientWatch* watch;  // null once the watch ended (its handler then only returns)
    char byte = 0;       // the peek's buffer
};

ClientWatch::ClientWatch(ClientWatches& all, net::ip::tcp::socket& client) : all_(all), client_(client) {
    all.add(*this);
}

ClientWatch::~ClientWatch() {
    if (hook_.is_linked()) {  // never started
        all_.remove(*this);
        return;
    }
    if (peek_) {
        peek_->watch = nullptr;
        boost::system::error_code ignored;  // the socket may already be closed
        client_.cancel(ignored);
    }
}

// Waits for the client socket to become readable while the upstream works: a peeking receive
// that leaves the bytes where they are. A plain completion handler: no coroutine frame.
void ClientWatch::start() {
    peek_ = std::make_shared<Peek>(Peek{this});
    Peek& p = *peek_;
    client_.async_receive(net::buffer(&p.byte, 1), net::socket_base::message_peek,
                          [peek = peek_](const boost::system::error_code& ec, std::size_t) {
                              if (peek->watch == nullptr || ec == net::error::operation_aborted) return;
                              // End of stream or reset: gone. A byte: the client pipelined its
                              // next request; a later write notices a disconnect.
                              if (ec) peek->watch->client_went_away();
                          });
}

void ClientWatch::client_went_away() {
    gone_ = true;
    if (conn_) conn_->close();
}

ClientWatches::ClientWatches(net::io_context& ioc) : timer_(ioc) {}

ClientWatches::~ClientWatches() {
    pending_.clear();  // unlinks what is left (their watches then find themselves unlinked)
}

void ClientWatches::remove(ClientWatch& w) {
    pending_.erase(pending_.iterator_to(w));
}

void ClientWatches::add(ClientWatch& w) {
    pending_.push_back(w);
    if (!armed_) arm(w.since_ + kGrace);
}

void ClientWatches::arm(ClientWatch::clock::time_point at) {
    armed_ = true;
    timer_.expires_at(at);
    timer_.async_wait([this, alive = std::weak_ptr<char>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        tick();
    });
}

// Starts every watch whose request has run for kGrace, then waits for the next one's turn.
void ClientWatches::tick() {
    armed_ = false;
    const auto due = ClientWatch::clock::now() - kGrace;
    while (!pending_.empty() && pending_.front().since_ <= due) {
        ClientWatch& w = pending_.front();
        pending_.pop_front();
        w.start();
    }
    if (!pending_.empty()) arm(pending_.front().since_ + kGrace);
}

}  // namespace ccr::worker::upstream
