#pragma once
// The client's request body: read into by the session (a body with a Content-Length, straight
// from the socket) or by Beast (a chunked one). One buffer that is never zero-filled (string_body
// resizes, so every body byte was first written as 0 and then copied: 17 % of the relay's
// instructions on 50 KiB bodies) and always keeps simdjson's padding spare, so inspecting it needs
// no copy either.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "worker/body.h"

namespace ccr::worker {

struct RequestBody {
    class value_type {
    public:
        const char* data() const { return buf_.get(); }
        std::size_t size() const { return size_; }
        /// Bytes allocated behind data() (at least size() + kJsonPadding once anything was read).
        std::size_t capacity() const { return cap_; }
        std::string_view view() const { return {buf_.get(), size_}; }
        operator std::string_view() const { return view(); }

        /// Room for `n` more bytes plus the padding; grows geometrically, keeps the contents.
        void reserve_more(std::size_t n) {
            const std::size_t need = size_ + n + kJsonPadding;
            if (need <= cap_) return;
            const std::size_t cap = std::max(need, cap_ * 2);
            auto next = std::make_unique_for_overwrite<char[]>(cap);
            if (size_) std::memcpy(next.get(), buf_.get(), size_);
            buf_ = std::move(next);
            cap_ = cap;
        }
        void append(const void* p, std::size_t n) {
            reserve_more(n);
            std::memcpy(buf_.get() + size_, p, n);
            size_ += n;
        }
        /// `n` writable bytes after the contents, for a read straight into the body; commit()
        /// what was written.
        char* prepare(std::size_t n) {
            reserve_more(n);
            return buf_.get() + size_;
        }
        void commit(std::size_t n) { size_ += n; }

    private:
        std::unique_ptr<char[]> buf_;
        std::size_t size_ = 0;
        std::size_t cap_ = 0;
    };

    static std::uint64_t size(const value_type& v) { return v.size(); }

    class reader {
    public:
        template <bool isRequest, class Fields>
        reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

        void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
            if (length) body_.reserve_more(static_cast<std::size_t>(*length));
            ec = {};
        }
        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
            std::size_t n = 0;
            body_.reserve_more(boost::asio::buffer_size(buffers));
            for (auto it = boost::asio::buffer_sequence_begin(buffers);
                 it != boost::asio::buffer_sequence_end(buffers); ++it) {
                boost::asio::const_buffer b = *it;
                body_.append(b.data(), b.size());
                n += b.size();
            }
            ec = {};
            return n;
        }
        void finish(boost::beast::error_code& ec) { ec = {}; }

    private:
        value_type& body_;
    };
};

}  // namespace ccr::worker
