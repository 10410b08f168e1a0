/* mindgit's breeding kernel: one generation of mindgit.evolve.operators.Breeder, in wasm.
 *
 * It computes exactly what Breeder.breed computes, bit for bit (the test suite compares the two
 * on random genomes, settings and seeds): the same words of the generation's stream consumed in
 * the same order, the same IEEE operations in the same order. Python keeps the reference
 * implementation and the stream (SHAKE-256 blocks, written into this module's memory); this
 * kernel runs the per-child loop, which in Python costs ~18 us a child.
 *
 * Why wasm and not a C extension: it runs under the same pinned wasmtime configuration as the
 * fitness modules, so it gives the same bits on every machine, and installing mindgit needs no
 * compiler. Rebuild with ./build (clang 14+ with the wasm32 target, and wasm-ld).
 *
 * Freestanding: no libc, no imports. Every float operation is + - * / or sqrt, and the build
 * turns off contraction into fused multiply-adds.
 */

typedef unsigned char u8;
typedef unsigned int u32;
typedef long long i64;
typedef unsigned long long u64;

enum { FLOAT = 0, INT = 1, BOOL = 2, CHOICE = 3 };
enum { OK = 0, NEED_WORDS = 1, UNSUPPORTED = 2 };
enum { ELITE = 0, COPY = 1, CROSS = 2 };

/* Written by Python before a call (inputs) and read after it (outputs); the layout is
 * mindgit.evolve.kernel's _JOB struct: 28 u32, then a u64 and a double. */
typedef struct {
    u32 n_in, population, dim, n_ev, elite, tournament, mask_words, n_words;
    u32 kinds, lo, hi, sigma, choices, ev, gaps;          /* per slot / per evolvable slot */
    u32 keys, pop_in, pop_out, words;                     /* keys: larger is fitter */
    u32 parents, flags, take, counts, muts, mut_values;   /* per child, per mutation */
    u32 children, words_used, muts_used;                  /* results */
    u64 cx_threshold;
    double rate;
} Job;

static const double TWO_M52 = 2.220446049250313e-16;  /* 2**-52 */
static const double TWO_M53 = 1.1102230246251565e-16; /* 2**-53 */
static const double LN2_HI = 6.93147180369123816490e-01;
static const double LN2_LO = 1.90821492927058770002e-10;
static const double SQRT_HALF = 0.7071067811865476;
static const double LN_COEFFS[10] = {
    2.0 / 21.0, 2.0 / 19.0, 2.0 / 17.0, 2.0 / 15.0, 2.0 / 13.0,
    2.0 / 11.0, 2.0 / 9.0,  2.0 / 7.0,  2.0 / 5.0,  2.0 / 3.0,
};
static const double NEG_INF = -__builtin_inf();
/* round() of a larger step would not fit the exact integer arithmetic below */
static const double MAX_STEP = 4503599627370496.0; /* 2**52 */

static const u64 *W;
static u32 NW, WP;
static int short_of_words;
static int has_spare;
static double spare;

static u64 word(void) {
    if (WP >= NW) {
        short_of_words = 1;
        return 0;
    }
    return W[WP++];
}

/* The high 64 bits of a * b: Python's (a * b) >> 64. */
static u64 mulhi(u64 a, u64 b) {
    u64 a0 = (u32)a, a1 = a >> 32, b0 = (u32)b, b1 = b >> 32;
    u64 p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    u64 mid = (p00 >> 32) + (u32)p01 + (u32)p10;
    return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

static u64 bits_of(double x) {
    union { double d; u64 u; } v = {x};
    return v.u;
}

static double of_bits(u64 u) {
    union { u64 u; double d; } v = {u};
    return v.d;
}

/* mindgit.evolve.prng.ln, for the positive finite arguments the polar method gives it. */
static double ln(double x) {
    int e = 0;
    u64 b = bits_of(x);
    if (((b >> 52) & 0x7ff) == 0) { /* subnormal: scale into the normal range, exactly */
        x = x * 18014398509481984.0; /* 2**54 */
        b = bits_of(x);
        e = -54;
    }
    /* frexp: x = m * 2**e with m in [0.5, 1) */
    e += (int)((b >> 52) & 0x7ff) - 1022;
    double m = of_bits((b & ~(0x7ffULL << 52)) | (1022ULL << 52));
    if (m < SQRT_HALF) {
        m = m * 2.0;
        e -= 1;
    }
    double f = (m - 1.0) / (m + 1.0);
    double z = f * f;
    double p = LN_COEFFS[0];
    for (int k = 1; k < 10; k++) p = p * z + LN_COEFFS[k];
    double de = (double)e;
    return (de * LN2_HI + (f * 2.0 + (f * z * p + de * LN2_LO))) + 0.0;
}

/* Stream.gaussian: Marsaglia's polar method, the second deviate kept for the next call. */
static double gaussian(void) {
    if (has_spare) {
        has_spare = 0;
        return spare;
    }
    double u, v, s;
    for (;;) {
        u = (double)(word() >> 11) * TWO_M52 - 1.0;
        v = (double)(word() >> 11) * TWO_M52 - 1.0;
        s = u * u + v * v;
        if (0.0 < s && s < 1.0) break;
        if (short_of_words) return 0.0;
    }
    double f = __builtin_sqrt(-2.0 * ln(s) / s);
    spare = v * f;
    has_spare = 1;
    return u * f;
}

/* One slot of a child, as Mutator / _mutate_slot change it. */
static int mutate_slot(const Job *j, double *row, u32 i) {
    const u8 kind = ((const u8 *)j->kinds)[i];
    const double lo = ((const double *)j->lo)[i];
    const double hi = ((const double *)j->hi)[i];
    const double sigma = ((const double *)j->sigma)[i];
    if (kind == FLOAT) {
        double v = row[i];
        double x = v + sigma * gaussian();
        if (x > hi) x = hi - (x - hi);
        if (x < lo) x = lo + (lo - x);
        if (x > hi) x = hi;
        if (x - x != 0.0) x = v; /* overflowed to an infinity: keep the old value */
        row[i] = x + 0.0;
    } else if (kind == INT) {
        /* Python's int arithmetic, in i64: exact while the step is below 2**52 (values are
         * within +-(2**53 - 1)); a larger step is left to Python. */
        double z = gaussian();
        double sz = sigma * z;
        if (!(sz > -MAX_STEP && sz < MAX_STEP)) return UNSUPPORTED;
        i64 step = (i64)__builtin_rint(sz); /* round half to even, as round() */
        if (step == 0) step = z >= 0.0 ? 1 : -1;
        i64 x = (i64)row[i] + step;
        /* |x| < 2**55, and lo, hi are within +-2**53: comparing (double)x decides as exactly */
        if ((double)x > hi) x = 2 * (i64)hi - x;
        if ((double)x < lo) x = 2 * (i64)lo - x;
        /* int(min(max(x, lo), hi)): the bound, truncated, where it wins */
        double bound = 0.0;
        int bounded = 0;
        if (lo > (double)x) {
            bound = lo;
            bounded = 1;
        }
        if (bounded ? hi < bound : hi < (double)x) {
            bound = hi;
            bounded = 1;
        }
        if (bounded) x = (i64)bound;
        row[i] = (double)x;
    } else if (kind == BOOL) {
        row[i] = row[i] != 0.0 ? 0.0 : 1.0;
    } else {
        u64 k = (u64)((const u32 *)j->choices)[i];
        u64 v = (u64)row[i];
        row[i] = (double)((v + 1 + mulhi(word(), k - 1)) % k);
    }
    return OK;
}

/* bisect_right(gaps, x): the number of gaps <= x (gaps is sorted). */
static u32 bisect_right(const double *gaps, u32 n, double x) {
    u32 lo = 0, hi = n;
    while (lo < hi) {
        u32 mid = (lo + hi) / 2;
        if (x < gaps[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static double gap_draw(void) {
    return -(double)((word() >> 11) + 1) * TWO_M53;
}

/* Mutator.__call__: each evolvable slot with probability rate; each one mutated is appended
 * to muts, its new value to values. */
static int mutate(const Job *j, double *row, u32 *muts, double *values, u32 *count) {
    const double rate = j->rate;
    const u32 *ev = (const u32 *)j->ev;
    const u32 n = j->n_ev;
    u32 c = 0;
    if (rate <= 0.0) {
        *count = 0;
        return OK;
    }
    if (rate >= 1.0) {
        for (u32 p = 0; p < n; p++) {
            if (mutate_slot(j, row, ev[p]) != OK) return UNSUPPORTED;
            values[c] = row[ev[p]];
            muts[c++] = ev[p];
        }
        *count = c;
        return OK;
    }
    const double *gaps = (const double *)j->gaps;
    u32 pos = bisect_right(gaps, n, gap_draw());
    while (pos < n) {
        if (mutate_slot(j, row, ev[pos]) != OK) return UNSUPPORTED;
        values[c] = row[ev[pos]];
        muts[c++] = ev[pos];
        pos += 1 + bisect_right(gaps, n, gap_draw());
    }
    *count = c;
    return OK;
}

__attribute__((export_name("breed"))) int breed(Job *j) {
    const u32 n = j->n_in, dim = j->dim, t = j->tournament, mw = j->mask_words;
    const double *keys = (const double *)j->keys;
    const double *in = (const double *)j->pop_in;
    double *out = (double *)j->pop_out;
    u32 *parents = (u32 *)j->parents, *counts = (u32 *)j->counts, *muts = (u32 *)j->muts;
    double *mut_values = (double *)j->mut_values;
    u8 *flags = (u8 *)j->flags, *take = (u8 *)j->take;
    W = (const u64 *)j->words;
    NW = j->n_words;
    WP = 0;
    short_of_words = 0;
    has_spare = 0;

    /* The elite: fittest first, ties to the lower index, failures (-inf) never. */
    u32 c = 0;
    double last_key = 0.0;
    u32 last = 0;
    for (u32 e = 0; e < j->elite; e++) {
        int best = -1;
        for (u32 i = 0; i < n; i++) {
            double k = keys[i];
            if (k == NEG_INF) continue;
            if (c > 0 && !(k < last_key || (k == last_key && i > last))) continue;
            if (best < 0 || k > keys[best]) best = (int)i;
        }
        if (best < 0) break;
        last = (u32)best;
        last_key = keys[best];
        for (u32 g = 0; g < dim; g++) out[c * dim + g] = in[last * dim + g];
        parents[2 * c] = parents[2 * c + 1] = last;
        flags[c] = ELITE;
        counts[c] = 0;
        c++;
    }

    const u32 per_child = 2 * t + 1 + mw;
    const u64 cx = j->cx_threshold;
    u32 m = 0;
    while (c < j->population) {
        if (NW - WP < per_child) return NEED_WORDS;
        const u64 *w = W + WP;
        WP += per_child;
        u32 a = (u32)mulhi(w[0], n);
        for (u32 x = 1; x < t; x++) {
            u32 i = (u32)mulhi(w[x], n);
            if (keys[i] > keys[a]) a = i;
        }
        u32 b = a;
        double *row = out + (u64)c * dim;
        const double *ra = in + (u64)a * dim;
        if ((w[t] >> 11) < cx) {
            b = (u32)mulhi(w[t + 1], n);
            for (u32 x = t + 2; x < 2 * t + 1; x++) {
                u32 i = (u32)mulhi(w[x], n);
                if (keys[i] > keys[b]) b = i;
            }
            /* The mask words joined big-endian; gene g comes from a if bit dim-1-g is set. */
            const u64 *mask = w + 2 * t + 1;
            const double *rb = in + (u64)b * dim;
            u8 *tk = take + (u64)c * dim;
            for (u32 g = 0; g < dim; g++) {
                u32 p = dim - 1 - g;
                u8 bit = (u8)((mask[mw - 1 - p / 64] >> (p % 64)) & 1);
                tk[g] = bit;
                row[g] = bit ? ra[g] : rb[g];
            }
            flags[c] = CROSS;
        } else {
            for (u32 g = 0; g < dim; g++) row[g] = ra[g];
            flags[c] = COPY;
        }
        parents[2 * c] = a;
        parents[2 * c + 1] = b;
        if (mutate(j, row, muts + m, mut_values + m, counts + c) != OK) return UNSUPPORTED;
        if (short_of_words) return NEED_WORDS;
        m += counts[c];
        c++;
    }
    j->children = c;
    j->words_used = WP;
    j->muts_used = m;
    return OK;
}
