#include "worker/json_scan.h"

// Why bitmasks: a Claude Code body is mostly string text with a quote every ~30 bytes and a
// backslash every ~40; a scan that stops at each of them pays a branch (and, on real text, a
// misprediction) per stop. Here each 64-byte block costs the same straight-line code whatever
// it holds:
//
//  1. classify: one bit per byte for '"', '\\', control characters (< 0x20), and bytes that may
//     not follow a backslash as they stand (all but "\/bfnrt: a \u needs a look at its digits);
//  2. escaped characters: the byte after an odd-length run of backslashes, found with one
//     subtraction over the whole word (simdjson's json_escape_scanner), the run's parity carried
//     into the next block;
//  3. in-string mask: the prefix XOR of the unescaped quotes (a carry-less multiply by all ones,
//     PCLMULQDQ, or six shift-XORs), XORed with the previous block's last bit;
//  4. errors: control characters in strings and escaped characters outside "\/bfnrt. Valid
//     text has none but its \u escapes, rare in these bodies, so this is one well-predicted
//     branch per block; behind it, a \u followed by four hex digits is cleared.
//
// Kernels, all giving the same masks (the tests and the body fuzz harness compare them):
//  - AVX2 + PCLMULQDQ, when the CPU has both (checked once, at run time): two 32-byte halves,
//    the escape classes from two nibble lookups (vpshufb);
//  - SSE2, every x86-64 CPU: four 16-byte quarters, one compare per escape character (no byte
//    shuffle before SSSE3), the prefix XOR by shifts;
//  - portable C++ for other CPUs: eight bytes at a time in a 64-bit word (SWAR), the escaped
//    characters looked up one by one.
// No AVX-512 kernel: the AVX2 one runs on those CPUs too, and valgrind, with which the cost is
// counted (bench/analysis.md), cannot run AVX-512.
// The AVX2 functions carry their own target attribute and everything they inline is internal to
// this file, so the linker can never pick an AVX2-compiled copy of a function for a caller that
// runs on a CPU without it.

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#define CCR_JSON_SCAN_X86 1
#include <immintrin.h>
#endif

namespace ccr::worker {
namespace {

#define CCR_INLINE inline __attribute__((always_inline))

constexpr std::uint64_t kOddBits = 0xAAAA'AAAA'AAAA'AAAAull;

// The raw masks of one block. The portable kernel fills `bad_escape` only where a byte is
// escaped inside a string (classify_escapes); the vector kernels, everywhere.
struct Raw {
    std::uint64_t quote = 0;
    std::uint64_t backslash = 0;
    std::uint64_t control = 0;
    std::uint64_t bad_escape = 0;  // bytes other than "\/bfnrt (u included: see note_error)
    std::uint64_t high = 0;        // nonzero when the block has a byte >= 0x80 (not a bit mask)
};

constexpr bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct EscapeTable {
    bool ok[256] = {};
    constexpr EscapeTable() {
        for (const char c : {'"', '\\', '/', 'b', 'f', 'n', 'r', 't'}) {
            ok[static_cast<unsigned char>(c)] = true;
        }
    }
};
constexpr EscapeTable kEscape;

// Bits of the characters escaped by a backslash (the byte after an odd-length run), given the
// block's backslashes; `prev_escaped` carries whether the next block's first byte is escaped.
CCR_INLINE std::uint64_t escaped_chars(std::uint64_t backslash, std::uint64_t& prev_escaped) {
    // A backslash that is itself escaped starts nothing. Subtracting the run starts from
    // (run shifted by one | odd bits) leaves, after XOR with the odd bits, a 1 on every escape
    // character and on each escaped one, whatever parity the run started on.
    const std::uint64_t potential = backslash & ~prev_escaped;
    const std::uint64_t code = (((potential << 1) | kOddBits) - potential) ^ kOddBits;
    const std::uint64_t escaped = code ^ (backslash | prev_escaped);
    prev_escaped = (code & backslash) >> 63;
    return escaped;
}

CCR_INLINE std::uint64_t prefix_xor_shifts(std::uint64_t x) {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

// For the portable kernel: the escaped characters inside strings, one table look-up each (about
// one per 40 bytes in the bodies this is for).
CCR_INLINE void classify_escapes(const char* block, std::uint64_t escaped, Raw& raw) {
    for (std::uint64_t e = escaped; e != 0; e &= e - 1) {
        const int i = __builtin_ctzll(e);
        raw.bad_escape |=
            static_cast<std::uint64_t>(!kEscape.ok[static_cast<unsigned char>(block[i])]) << i;
    }
}

// A block's suspect bytes inside strings, in order: an escaped u followed by four hex digits is
// fine; the first other one is the scan's error, unless an earlier block had one.
[[gnu::noinline]] void note_error(JsonScanState& st,
                                  std::size_t offset,
                                  std::uint64_t suspects,
                                  std::uint64_t escaped) {
    if (st.error != JsonScanState::kNone) return;
    for (; suspects != 0; suspects &= suspects - 1) {
        const int i = __builtin_ctzll(suspects);
        const std::size_t at = offset + static_cast<std::size_t>(i);
        // Bits past the end come from the padding of the last block (a text ending in a
        // backslash "escapes" the first pad byte); the walk reports that string as unterminated.
        if (at >= st.size) return;
        const bool escape = (escaped >> i) & 1;
        const char* h = st.text + at;
        if (escape && h[0] == 'u' && at + 4 < st.size && is_hex(h[1]) && is_hex(h[2]) &&
            is_hex(h[3]) && is_hex(h[4])) {
            continue;
        }
        st.error = at;
        st.error_escaped = escape;
        return;
    }
}

// What one block passes to the next, kept in registers through a kernel's loop.
struct Carry {
    std::uint64_t in_string;  // all ones when the block ended inside a string
    std::uint64_t escaped;    // 1 when the next block's first byte is escaped
};

// Steps 2 to 4 for one block whose raw masks and prefix XOR are known: the in-string word.
CCR_INLINE std::uint64_t finish_block(JsonScanState& st,
                                      Carry& carry,
                                      std::size_t offset,
                                      const Raw& raw,
                                      std::uint64_t escaped,
                                      std::uint64_t quote_prefix) {
    const std::uint64_t in = quote_prefix ^ carry.in_string;
    carry.in_string = static_cast<std::uint64_t>(static_cast<std::int64_t>(in) >> 63);
    if (raw.high != 0 && st.first_high == JsonScanState::kNone) [[unlikely]]
        st.first_high = offset;
    const std::uint64_t suspects = in & ((escaped & raw.bad_escape) | raw.control);
    if (suspects != 0) [[unlikely]]
        note_error(st, offset, suspects, escaped);
    return in;
}

// ---- portable ---------------------------------------------------------------------------------

// Eight bytes at a time in a 64-bit word (SWAR): a byte's top bit says whether it matched, with
// no carry between bytes, and one multiply gathers the eight top bits into a byte (each lands on
// its own bit, and no two partial products overlap, so nothing carries into the result).
constexpr std::uint64_t kOnes = 0x0101'0101'0101'0101ull;
constexpr std::uint64_t kLow7 = 0x7f7f'7f7f'7f7f'7f7full;
constexpr std::uint64_t kHigh = 0x8080'8080'8080'8080ull;

CCR_INLINE std::uint64_t swar_eq(std::uint64_t w, unsigned char c) {
    const std::uint64_t t = w ^ (kOnes * c);
    return ~(((t & kLow7) + kLow7) | t) & kHigh;
}

CCR_INLINE std::uint64_t swar_control(std::uint64_t w) {  // bytes < 0x20
    return ~(((w & kLow7) + kOnes * 0x60) | w) & kHigh;
}

CCR_INLINE std::uint64_t swar_gather(std::uint64_t high_bits) {
    return (high_bits * 0x0002'0408'1020'4081ull) >> 56;
}

CCR_INLINE Raw classify_portable(const char* block) {
    Raw raw;
    for (int i = 0; i < 8; ++i) {
        std::uint64_t w;
        std::memcpy(&w, block + 8 * i, 8);
        if constexpr (std::endian::native == std::endian::big) w = __builtin_bswap64(w);
        raw.quote |= swar_gather(swar_eq(w, '"')) << (8 * i);
        raw.backslash |= swar_gather(swar_eq(w, '\\')) << (8 * i);
        raw.control |= swar_gather(swar_control(w)) << (8 * i);
        raw.high |= w & kHigh;
    }
    return raw;
}

void blocks_portable(
    JsonScanState& st, const char* p, std::size_t offset, std::size_t count, std::uint64_t* out) {
    Carry carry{st.prev_in_string, st.prev_escaped};
    for (std::size_t b = 0; b < count; ++b, p += 64, offset += 64) {
        Raw raw = classify_portable(p);
        const std::uint64_t escaped = escaped_chars(raw.backslash, carry.escaped);
        const std::uint64_t prefix = prefix_xor_shifts(raw.quote & ~escaped);
        classify_escapes(p, escaped & (prefix ^ carry.in_string), raw);
        out[b] = finish_block(st, carry, offset, raw, escaped, prefix);
    }
    st.prev_in_string = carry.in_string;
    st.prev_escaped = carry.escaped;
}

#if CCR_JSON_SCAN_X86

// ---- SSE2 -------------------------------------------------------------------------------------

// One 16-byte quarter of a block into the five masks, at bit `shift`. Without a byte shuffle the
// nine characters that may follow a backslash take a compare each.
CCR_INLINE void classify_sse2(__m128i v, int shift, Raw& raw) {
    const auto eq = [v](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
    const auto bits = [shift](__m128i m) {
        return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(m))) << shift;
    };
    const __m128i quote = eq('"');
    const __m128i backslash = eq('\\');
    const __m128i c1f = _mm_set1_epi8(0x1f);
    const __m128i valid =
        _mm_or_si128(_mm_or_si128(_mm_or_si128(quote, backslash), eq('/')),
                     _mm_or_si128(_mm_or_si128(eq('b'), eq('f')),
                                  _mm_or_si128(_mm_or_si128(eq('n'), eq('r')), eq('t'))));
    raw.quote |= bits(quote);
    raw.backslash |= bits(backslash);
    raw.control |= bits(_mm_cmpeq_epi8(_mm_max_epu8(v, c1f), c1f));
    raw.bad_escape |= bits(_mm_cmpeq_epi8(valid, _mm_setzero_si128()));
    raw.high |= static_cast<unsigned>(_mm_movemask_epi8(v));
}

void blocks_sse2(
    JsonScanState& st, const char* p, std::size_t offset, std::size_t count, std::uint64_t* out) {
    Carry carry{st.prev_in_string, st.prev_escaped};
    for (std::size_t b = 0; b < count; ++b, p += 64, offset += 64) {
        Raw raw;
        for (int i = 0; i < 4; ++i) {
            classify_sse2(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), 16 * i,
                          raw);
        }
        const std::uint64_t escaped = escaped_chars(raw.backslash, carry.escaped);
        out[b] =
            finish_block(st, carry, offset, raw, escaped, prefix_xor_shifts(raw.quote & ~escaped));
    }
    st.prev_in_string = carry.in_string;
    st.prev_escaped = carry.escaped;
}

// ---- AVX2 + PCLMULQDQ -------------------------------------------------------------------------

#define CCR_AVX2 __attribute__((target("avx2,pclmul")))

CCR_AVX2 CCR_INLINE std::uint64_t movemask2(__m256i lo, __m256i hi) {
    return static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(lo))) |
           static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(hi))) << 32;
}

// Both halves of the block through two nibble lookups whose AND is a class per byte: bit 7 for
// control characters (high nibble 0 or 1), bits 0-3 for the characters that may follow a
// backslash, grouped by high nibble: 0x2_ {" /}, 0x5_ {\}, 0x6_ {b f n}, 0x7_ {r t}. The
// low-nibble lookup shuffles the byte itself, so bytes >= 0x80 get class 0. Movemask reads the
// control bit as it is.
CCR_AVX2 CCR_INLINE __m256i classes_avx2(__m256i v) {
    constexpr char kCtl = -128;  // 0x80
    // clang-format off
    const __m256i by_low = _mm256_broadcastsi128_si256(_mm_setr_epi8(
        kCtl, kCtl, kCtl | 1 | 4 | 8, kCtl, kCtl | 8, kCtl, kCtl | 4, kCtl,  // 2: " b r, 4: t, 6: f
        kCtl, kCtl, kCtl, kCtl, kCtl | 2, kCtl, kCtl | 4, kCtl | 1));      // c: \, e: n, f: /
    const __m256i by_high = _mm256_broadcastsi128_si256(_mm_setr_epi8(
        kCtl, kCtl, 1, 0, 0, 2, 4, 8,
        0, 0, 0, 0, 0, 0, 0, 0));
    // clang-format on
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0f));
    return _mm256_and_si256(_mm256_shuffle_epi8(by_low, v), _mm256_shuffle_epi8(by_high, high));
}

CCR_AVX2 CCR_INLINE Raw classify_avx2(const char* block) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 32));
    const __m256i quote = _mm256_set1_epi8('"');
    const __m256i backslash = _mm256_set1_epi8('\\');
    const __m256i zero = _mm256_setzero_si256();
    const __m256i lo_class = classes_avx2(lo);
    const __m256i hi_class = classes_avx2(hi);
    Raw raw;
    raw.quote = movemask2(_mm256_cmpeq_epi8(lo, quote), _mm256_cmpeq_epi8(hi, quote));
    raw.backslash = movemask2(_mm256_cmpeq_epi8(lo, backslash), _mm256_cmpeq_epi8(hi, backslash));
    raw.control = movemask2(lo_class, hi_class);
    // A control character has class 0x80, not 0: it is a bad escape through `control`.
    raw.bad_escape =
        movemask2(_mm256_cmpeq_epi8(lo_class, zero), _mm256_cmpeq_epi8(hi_class, zero));
    raw.high = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_or_si256(lo, hi)));
    return raw;
}

CCR_AVX2 CCR_INLINE std::uint64_t prefix_xor_clmul(std::uint64_t x) {
    const __m128i product =
        _mm_clmulepi64_si128(_mm_cvtsi64_si128(static_cast<long long>(x)), _mm_set1_epi8(-1), 0);
    return static_cast<std::uint64_t>(_mm_cvtsi128_si64(product));
}

CCR_AVX2 void blocks_avx2(
    JsonScanState& st, const char* p, std::size_t offset, std::size_t count, std::uint64_t* out) {
    Carry carry{st.prev_in_string, st.prev_escaped};
    for (std::size_t b = 0; b < count; ++b, p += 64, offset += 64) {
        const Raw raw = classify_avx2(p);
        const std::uint64_t escaped = escaped_chars(raw.backslash, carry.escaped);
        out[b] =
            finish_block(st, carry, offset, raw, escaped, prefix_xor_clmul(raw.quote & ~escaped));
    }
    st.prev_in_string = carry.in_string;
    st.prev_escaped = carry.escaped;
}

bool cpu_has_avx2() {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul");
}

#endif  // CCR_JSON_SCAN_X86

using BlockFn = void (*)(JsonScanState&, const char*, std::size_t, std::size_t, std::uint64_t*);

// The whole blocks straight from the text; the last, partial one from a copy padded with
// spaces (neither quote, backslash nor control character), so no kernel reads past the text.
template <BlockFn kBlocks>
void scan(JsonScanState& st, std::size_t from, std::size_t words, std::uint64_t* in_string) {
    const std::size_t whole = std::min(words, (st.size - from) / 64);
    kBlocks(st, st.text + from, from, whole, in_string);
    if (whole == words) return;
    alignas(64) char last[64];
    std::memset(last, ' ', sizeof last);
    const std::size_t at = from + whole * 64;
    std::memcpy(last, st.text + at, st.size - at);
    kBlocks(st, last, at, 1, in_string + whole);
}

}  // namespace

bool json_kernel_available(JsonKernel kernel) {
    switch (kernel) {
        case JsonKernel::best:
        case JsonKernel::portable:
            return true;
#if CCR_JSON_SCAN_X86
        case JsonKernel::sse2:
            return true;
        case JsonKernel::avx2: {
            static const bool has = cpu_has_avx2();
            return has;
        }
#else
        case JsonKernel::sse2:
        case JsonKernel::avx2:
            return false;
#endif
    }
    return false;
}

JsonScanner json_scanner(JsonKernel kernel) {
    assert(json_kernel_available(kernel));
#if CCR_JSON_SCAN_X86
    if (kernel == JsonKernel::best) {
        kernel = json_kernel_available(JsonKernel::avx2) ? JsonKernel::avx2 : JsonKernel::sse2;
    }
    if (kernel == JsonKernel::avx2) return scan<blocks_avx2>;
    if (kernel == JsonKernel::sse2) return scan<blocks_sse2>;
#endif
    return scan<blocks_portable>;
}

}  // namespace ccr::worker
