#pragma once
/// Whether a client hung up while its request waits on an upstream. A client that goes away
/// (end of stream, reset) has its upstream connection closed, so the provider stops working on a
/// request nobody will read.
///
/// A watch costs a system call: Asio's reactor tries a receive before it waits on the socket's
/// registration (a peeking one here: a `recv` that finds nothing), and `async_wait` would re-arm
/// the descriptor with `epoll_ctl` instead. On a virtual machine a system call is a microsecond,
/// a few percent of a short relayed request. So a request's watch begins only once the request
/// has run for `kGrace`: one timer for the whole worker, armed while watches are pending, starts
/// them. An answer quicker than that is written before a hang-up could matter (a write to a
/// client that left fails); every longer one, which is what a model's answer is, is watched from
/// `kGrace` on. nginx watches from the start, at no cost: its event loop reads the epoll event
/// itself, where Asio's reactor gives no way to wait for one without an operation.

#include <chrono>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

namespace ccr::worker::upstream {

struct Conn;
class ClientWatches;

/// One request's watch on its client's connection, from construction to destruction; it starts
/// on the socket `kGrace` after its construction. Lives in the relaying coroutine's frame.
class ClientWatch {
  public:
    using clock = std::chrono::steady_clock;

    ClientWatch(ClientWatches& all, boost::asio::ip::tcp::socket& client);
    ~ClientWatch();
    ClientWatch(const ClientWatch&) = delete;
    ClientWatch& operator=(const ClientWatch&) = delete;

    /// The upstream connection to close if the client goes away (null: none now).
    void guard(Conn* conn) { conn_ = conn; }
    /// The client went away (its connection ended or was reset).
    bool client_gone() const { return gone_; }
    /// The watch is on the socket (the grace period passed).
    bool started() const { return peek_ != nullptr; }

  private:
    friend class ClientWatches;
    struct Peek;  // the receive's state, shared with its handler (which may outlive the watch)

    void start();
    void client_went_away();

    boost::intrusive::list_member_hook<> hook_;  // in all_'s pending list until started
    ClientWatches& all_;
    boost::asio::ip::tcp::socket& client_;
    clock::time_point since_ = clock::now();  // the pending list is in this order
    Conn* conn_ = nullptr;
    bool gone_ = false;
    std::shared_ptr<Peek> peek_;
};

/// A worker's pending watches (not yet started), oldest first, and the timer that starts them.
class ClientWatches {
  public:
    /// How long a request runs before its client is watched.
    static constexpr std::chrono::milliseconds kGrace{100};

    explicit ClientWatches(boost::asio::io_context& ioc);
    ~ClientWatches();

    /// Watches not yet started (for tests).
    std::size_t pending() const { return pending_.size(); }

  private:
    friend class ClientWatch;
    using List = boost::intrusive::list<
        ClientWatch,
        boost::intrusive::member_hook<ClientWatch, boost::intrusive::list_member_hook<>, &ClientWatch::hook_>,
        boost::intrusive::constant_time_size<true>>;

    void add(ClientWatch& w);
    void remove(ClientWatch& w);
    void arm(ClientWatch::clock::time_point at);
    void tick();

    List pending_;
    boost::asio::steady_timer timer_;
    bool armed_ = false;
    std::shared_ptr<char> alive_ = std::make_shared<char>();  // the timer's handler checks it
};

}  // namespace ccr::worker::upstream
