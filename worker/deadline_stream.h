#pragma once
// A TCP stream with a deadline, in place of Beast's basic_stream for the worker's connections.
//
// Beast's basic_stream arms a timer for every read and write and cancels it when the operation
// completes: a clock read, a timer-queue insertion and removal, and the cancelled wait's handler
// run through the scheduler, for each of a relayed request's reads and writes on both sides. Here
// the deadline is a time point kept with the stream, and one timer per connection is armed lazily,
// as nginx keeps its timers: a deadline earlier than the armed expiry re-arms it; a later one waits
// until the timer fires, which then re-arms for the deadline then in force. Setting a deadline
// costs nothing else, and a read or a write goes straight to the socket.
//
// When the deadline passes the socket is closed, as basic_stream does: pending operations end
// with beast::error::timeout, and so does every operation after it. Unlike basic_stream, the
// deadline holds whether or not an operation is pending, and a new one takes effect at once,
// also for an operation already waiting (a drain shortening an idle connection's wait).

#include <chrono>
#include <memory>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>

namespace ccr::worker {

namespace deadline_detail {

struct State {
    using time_point = std::chrono::steady_clock::time_point;
    explicit State(boost::asio::ip::tcp::socket s)
        : socket(std::move(s)), timer(socket.get_executor()) {}
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    time_point deadline = time_point::max();
    time_point armed = time_point::max();  // the timer's expiry; max: not armed
    bool timed_out = false;                // the deadline closed the socket
};

// An operation's completion: its error becomes beast::error::timeout when the deadline
// closed the socket. Executor, allocator and cancellation slot are the wrapped handler's.
template <class Handler>
struct Completion {
    Handler handler;
    std::shared_ptr<State> state;

    template <class... Result>  // a read's or write's byte count, or nothing (connect)
    void operator()(boost::system::error_code ec, Result... result) {
        if (ec && state->timed_out) ec = boost::beast::error::timeout;
        state.reset();
        std::move(handler)(ec, result...);
    }
};

}  // namespace deadline_detail

class DeadlineStream {
  public:
    using socket_type = boost::asio::ip::tcp::socket;
    using executor_type = socket_type::executor_type;
    using lowest_layer_type = socket_type;  // for boost::asio::ssl::stream
    using clock = std::chrono::steady_clock;

    explicit DeadlineStream(socket_type socket) : s_(std::make_shared<State>(std::move(socket))) {}
    explicit DeadlineStream(boost::asio::io_context& ioc) : DeadlineStream(socket_type(ioc)) {}
    DeadlineStream(DeadlineStream&&) = default;
    /// Closes the socket and cancels the timer, whose wait would otherwise keep the state (and
    /// a far deadline's timer-queue entry) until it fires.
    ~DeadlineStream() {
        if (!s_) return;  // moved from
        s_->timer.cancel();
        close();
    }

    executor_type get_executor() noexcept { return s_->socket.get_executor(); }
    socket_type& socket() noexcept { return s_->socket; }
    lowest_layer_type& lowest_layer() noexcept { return s_->socket; }
    const lowest_layer_type& lowest_layer() const noexcept { return s_->socket; }

    /// The socket closes at `t` (operations then end with beast::error::timeout).
    void expires_at(clock::time_point t) {
        s_->deadline = t;
        if (t < s_->armed) arm(s_, t);
    }
    void expires_after(clock::duration d) { expires_at(clock::now() + d); }
    /// No deadline (the armed timer, if any, finds none when it fires).
    void expires_never() { s_->deadline = clock::time_point::max(); }

    void cancel() { s_->socket.cancel(); }
    void close() {
        boost::system::error_code ignored;
        s_->socket.close(ignored);
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<State>& s, const MutableBuffers& b) {
                s->socket.async_read_some(b, Completion<decltype(handler)>{std::move(handler), s});
            },
            token, s_, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<State>& s, const ConstBuffers& b) {
                s->socket.async_write_some(b, Completion<decltype(handler)>{std::move(handler), s});
            },
            token, s_, buffers);
    }

    /// Connects to one endpoint (the socket opened for its protocol); the caller tries the next
    /// on failure unless the error is beast::error::timeout.
    template <class Token>
    auto async_connect(const boost::asio::ip::tcp::endpoint& endpoint, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
            [](auto handler, const std::shared_ptr<State>& s,
               const boost::asio::ip::tcp::endpoint& e) {
                if (s->timed_out) {
                    // The deadline passed: no new socket (the timer will not close it again).
                    auto ex =
                        boost::asio::get_associated_executor(handler, s->socket.get_executor());
                    boost::asio::post(ex, [h = std::move(handler)]() mutable {
                        std::move(h)(boost::beast::error::timeout);
                    });
                    return;
                }
                boost::system::error_code ignored;
                s->socket.close(ignored);
                s->socket.async_connect(e, Completion<decltype(handler)>{std::move(handler), s});
            },
            token, s_, endpoint);
    }

  private:
    using State = deadline_detail::State;
    template <class Handler>
    using Completion = deadline_detail::Completion<Handler>;

    // Arms the timer for `t`. The handler holds the state, so a stream destroyed before its
    // timer fires leaves nothing dangling (the cancelled wait only drops the reference).
    static void arm(const std::shared_ptr<State>& s, clock::time_point t) {
        s->armed = t;
        s->timer.expires_at(t);  // cancels a wait for a later expiry
        s->timer.async_wait([s, t](const boost::system::error_code& ec) {
            if (ec || s->armed != t) return;  // replaced by an earlier expiry
            s->armed = clock::time_point::max();
            if (s->deadline == clock::time_point::max()) return;
            if (s->deadline <= clock::now()) {
                s->timed_out = true;
                boost::system::error_code ignored;
                s->socket.close(ignored);
            } else {
                arm(s, s->deadline);
            }
        });
    }

    std::shared_ptr<State> s_;
};

}  // namespace ccr::worker

template <template <class, class> class Associator, class Handler, class Default>
struct boost::asio::
    associator<Associator, ccr::worker::deadline_detail::Completion<Handler>, Default> {
    static typename Associator<Handler, Default>::type get(
        const ccr::worker::deadline_detail::Completion<Handler>& c,
        const Default& d = Default()) noexcept {
        return Associator<Handler, Default>::get(c.handler, d);
    }
};
