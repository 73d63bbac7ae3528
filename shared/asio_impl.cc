// The one translation unit that compiles Boost.Asio, Asio SSL and Beast (separate compilation:
// every other file includes only their declarations). Keeps rebuilds on 2 cores short.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
