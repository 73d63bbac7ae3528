#pragma once
// The first pass of check_json (worker/json_check.h): the text in 64-byte blocks, each turned
// into bitmasks without a branch per character, simdjson's stage 1 reduced to what the grammar
// walk needs. For every block it gives the in-string mask (bit i: byte i is an opening quote or
// inside a string), from which the walk finds each string's closing quote, and it records the
// first byte inside a string that makes the text invalid (a control character, an escape other
// than \" \\ \/ \b \f \n \r \t, or a \u without four hex digits), so the walk never looks at a
// string's bytes, and the first block with a byte >= 0x80 (UTF-8 validation starts there). Why
// and how: the top of json_scan.cc.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "worker/json_check.h"

namespace ccr::worker {

/// The block kernels. `best` is the fastest one this CPU runs (chosen once, at first use);
/// the others exist for the tests and the fuzz harness, which compare them.
enum class JsonKernel { best, avx2, sse2, portable };

/// Whether this build and this CPU can run `kernel` (`best` and `portable` always can).
bool json_kernel_available(JsonKernel kernel);

/// check_json with the given kernel (check_json itself uses `best`).
JsonFault check_json(std::string_view text, std::size_t max_depth, JsonKernel kernel);

/// What the scan carries from one block to the next, and what it found.
struct JsonScanState {
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

    const char* text = nullptr;
    std::size_t size = 0;
    std::uint64_t prev_in_string = 0;  // all ones when the last block scanned ended in a string
    std::uint64_t prev_escaped = 0;    // 1 when the next block's first byte is escaped
    /// The first invalid byte inside a string (kNone: none so far). When `error_escaped`, it is
    /// the character after a backslash (a bad escape, or the u of a bad \u); otherwise it is a
    /// control character.
    std::size_t error = kNone;
    bool error_escaped = false;
    /// The first block (its offset) holding a byte >= 0x80 (kNone: none so far).
    std::size_t first_high = kNone;
};

/// Scans `words` blocks from byte `from` (a multiple of 64, below state.size) into `in_string`,
/// one word per block; bits past the end of the text are meaningless. Blocks are scanned in
/// order: `from` is where the previous call stopped.
using JsonScanner = void (*)(JsonScanState& state,
                             std::size_t from,
                             std::size_t words,
                             std::uint64_t* in_string);

/// The scanner of a kernel available here (json_kernel_available).
JsonScanner json_scanner(JsonKernel kernel);

}  // namespace ccr::worker
