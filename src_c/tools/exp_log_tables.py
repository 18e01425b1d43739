"""Writes src_c/exp_log_tables.h: the tables and polynomial coefficients of
the E-step's exp (x <= 0) and log (x >= 1) (kernels.inc), as hex-float
constants, with the error bounds they were chosen for.

    python src_c/tools/exp_log_tables.py            # rewrite the header
    python src_c/tools/exp_log_tables.py --check    # exit 1 if it is stale

Needs mpmath (a development tool only; the build reads the header). Every
number is derived here in exact rational or 200-bit arithmetic and rounded
once to double, so the output is the same on every machine.

exp(x) = 2^(k/16) exp(r), k = round(x 16/ln 2), |r| <= ln2/32: exp(r) by a
degree-6 polynomial, 2^(j/16) (j = k mod 16) from a table of 16 doubles s_j
plus each one's relative rounding error (the tail t_j, so the product is
carried to ~2^-106), the 2^(k div 16) in the exponent bits. 16 entries are
two AVX-512 registers: one in-register permute per lookup instead of a
gather (measured: a pass with k = 4 exponentials per row was 3% slower
than before with 128 entries and gathers, degree 5); degree 6 keeps the
polynomial's abs. error 2^-56.3 (printed below), 0.64 ulp in all as
measured (degree 7 would give ~0.51 for one more multiply-add).

log(x) = e ln2 + log(z), x = 2^e z, z in [0.689, 1.379) (the offset puts 1.0
in the middle of one of 128 subintervals, whose c is 1: there r = z - 1
exactly, so log is accurate near 1); per subinterval an invc ~ 1/c with 20
significant bits (so the no-FMA variant forms z invc - 1 exactly from a
split z) and logc = -log(invc); r = z invc - 1, |r| < 2^-8 + 2^-14, and
log1p(r) = r + r^2 P(r) with P of degree 4 (relative error ~2^-55: 0.1
ulp; 64 subintervals would need degree 5, 256 twice the cache for one
multiply-add less). Among the 20-bit invc near 1/centre the one whose -log
is nearest a double is kept (its rounding error is printed).
"""
import argparse
import os
import struct
import sys
from fractions import Fraction

import mpmath

mpmath.mp.prec = 200
HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(os.path.dirname(HERE), "exp_log_tables.h")

EXP_BITS = 4           # N = 16 entries: two 8-double registers
LOG_BITS = 7           # 128 subintervals
LOG_OFFSET = 0x3fe6100000000000  # bits of z's lower end: 1.0 is a subinterval's midpoint
INVC_BITS = 20         # significant bits of invc (the split z of the no-FMA variant)
EXP_DEGREE = 6
LOG_P_DEGREE = 4       # log1p(r) = r + r^2 P(r): degree 6 in all


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def rn(x):
    """x (mpf or Fraction) rounded to the nearest double."""
    if isinstance(x, Fraction):
        x = mpmath.mpf(x.numerator) / x.denominator
    return float(mpmath.mpf(x))


def ulp(x):
    x = abs(x)
    m, e = mpmath.frexp(x)  # x = m 2^e, m in [0.5, 1)
    return mpmath.ldexp(1, int(e) - 53)


def minimax(f, a, b, degree, weight=lambda r: 1):
    """Coefficients (lowest first) of the polynomial of `degree` that
    minimises max |weight (f - p)| on [a, b] (Remez exchange), rounded to
    double; and that maximum in exact arithmetic on the rounded ones."""
    n = degree + 2
    xs = [(a + b) / 2 + (b - a) / 2 * mpmath.cos(mpmath.pi * (n - 1 - i) / (n - 1))
          for i in range(n)]
    # the weights vanish at 0 (the error's double zero there): start off it
    xs = [x if abs(x) > (b - a) * mpmath.mpf(2) ** -20 else (b - a) / 10 for x in xs]
    coeffs = None
    for _ in range(30):
        # p(x_i) + (-1)^i E / w(x_i) = f(x_i)
        rows = [[x ** j for j in range(degree + 1)] + [(-1) ** i / weight(x)]
                for i, x in enumerate(xs)]
        sol = mpmath.lu_solve(mpmath.matrix(rows), mpmath.matrix([f(x) for x in xs]))
        coeffs = [sol[j] for j in range(degree + 1)]

        def err(x):
            return weight(x) * (f(x) - sum(c * x ** j for j, c in enumerate(coeffs)))

        # the ends, and points off 0 (where the weighted error is 0)
        grid = [a] + [a + (b - a) * (i + mpmath.mpf(1) / 2) / 4000 for i in range(4000)] + [b]
        values = [err(x) for x in grid]
        # the new reference: the extremum of each run of equal sign
        ext = []
        start = 0
        for i in range(1, len(grid) + 1):
            if i == len(grid) or mpmath.sign(values[i]) != mpmath.sign(values[start]):
                j = max(range(start, i), key=lambda t: abs(values[t]))
                ext.append(grid[j])
                start = i
        if len(ext) < n:
            break
        while len(ext) > n:  # drop the smaller end
            if abs(err(ext[0])) < abs(err(ext[-1])):
                ext.pop(0)
            else:
                ext.pop()
        if max(abs(x - y) for x, y in zip(ext, xs)) < (b - a) * mpmath.mpf(2) ** -40:
            xs = ext
            break
        xs = ext
    rounded = [rn(c) for c in coeffs]
    grid = [a + (b - a) * i / 20000 for i in range(20001)]
    worst = max(abs(weight(x) * (f(x) - sum(mpmath.mpf(c) * x ** j
                                              for j, c in enumerate(rounded))))
                for x in grid)
    return rounded, worst


def exp_tables():
    n = 1 << EXP_BITS
    tail, sbits = [], []
    for j in range(n):
        v = mpmath.power(2, mpmath.mpf(j) / n)
        s = rn(v)
        tail.append(rn((v - s) / s))
        # scale bits: s's bits less j << (52 - EXP_BITS), so that adding the
        # reduction's k << (52 - EXP_BITS) restores j and adds k div 128 to
        # the exponent in one integer addition
        sbits.append((bits(s) - (j << (52 - EXP_BITS))) % (1 << 64))
    inv_ln2_n = rn(n / mpmath.log(2))
    ln2_n = mpmath.log(2) / n
    # the high part has 53 - (bits of the largest |k|) significant bits, so
    # k ln2_hi is exact (|x| <= 708 gives |k| <= 708 N / ln 2)
    k_max = int(mpmath.ceil(708 * n / mpmath.log(2)))
    hi_bits = 53 - k_max.bit_length()
    m, e = mpmath.frexp(ln2_n)
    ln2_hi = float(mpmath.ldexp(mpmath.floor(mpmath.ldexp(m, hi_bits)), int(e) - hi_bits))
    ln2_lo = rn(ln2_n - ln2_hi)
    r_max = ln2_n / 2 * (1 + mpmath.mpf(2) ** -20)

    def f(r):  # (exp(r) - 1 - r) / r^2
        if abs(r) < mpmath.mpf(2) ** -60:
            return mpmath.mpf(1) / 2 + r / 6
        return (mpmath.exp(r) - 1 - r) / r ** 2

    # weight r^2: the abs. error of 1 + r + r^2 P(r) against exp(r)
    coeffs, worst = minimax(f, -r_max, r_max, EXP_DEGREE - 2, weight=lambda r: r * r)
    return dict(tail=tail, sbits=sbits, inv_ln2_n=inv_ln2_n, ln2_hi=ln2_hi, ln2_lo=ln2_lo,
                poly=coeffs, poly_err=worst, r_max=r_max, hi_bits=hi_bits)


def log_tables():
    n = 1 << LOG_BITS
    step = 1 << (52 - LOG_BITS)
    invc_list, logc_list, logc_err, r_max = [], [], [], mpmath.mpf(0)
    for i in range(n):
        lo = Fraction(from_bits(LOG_OFFSET + i * step))
        hi = Fraction(from_bits(LOG_OFFSET + (i + 1) * step))
        if lo <= 1 < hi:
            invc, logc, err = 1.0, 0.0, mpmath.mpf(0)
            assert Fraction(from_bits(LOG_OFFSET + i * step + step // 2)) == 1
        else:
            centre = (lo + hi) / 2
            target = 1 / centre
            m, e = mpmath.frexp(mpmath.mpf(target.numerator) / target.denominator)
            unit = Fraction(2) ** (int(e) - INVC_BITS)  # invc's last bit
            base = round(target / unit)
            best = None
            for t in range(-64, 65):  # shifts r's range by < 2^-13 relative
                cand = (base + t) * unit
                logc = -mpmath.log(mpmath.mpf(cand.numerator) / cand.denominator)
                err = abs(logc - rn(logc)) / ulp(logc)
                if best is None or err < best[2]:
                    best = (cand, logc, err)
            cand, logc, err = best
            invc = float(cand)
            assert Fraction(invc) == cand
            logc = rn(logc)
        # r = z invc - 1 over the subinterval
        r_lo = lo * Fraction(invc) - 1
        r_hi = hi * Fraction(invc) - 1
        r_max = max(r_max, abs(rn(r_lo)), abs(rn(r_hi)))
        invc_list.append(invc)
        logc_list.append(logc)
        logc_err.append(err)
    r_max = mpmath.mpf(r_max) * (1 + mpmath.mpf(2) ** -40)

    def f(r):  # (log1p(r) - r) / r^2
        if abs(r) < mpmath.mpf(2) ** -60:
            return -mpmath.mpf(1) / 2 + r / 3
        return (mpmath.log1p(r) - r) / r ** 2

    # weight r^2 / |log1p(r)| ~ |r|: the relative error of r + r^2 P(r)
    coeffs, worst = minimax(f, -r_max, r_max, LOG_P_DEGREE,
                            weight=lambda r: r * r / abs(mpmath.log1p(r)) if r else 0)
    ln2_hi = from_bits(0x3fe62e42fee00000)  # 21 trailing zero bits: e ln2_hi exact
    ln2_lo = rn(mpmath.log(2) - ln2_hi)
    return dict(invc=invc_list, logc=logc_list, logc_err=max(logc_err), r_max=r_max,
                poly=coeffs, poly_err=worst, ln2_hi=ln2_hi, ln2_lo=ln2_lo)


def hexf(x):
    return float(x).hex()


def log2_of(x):
    return float(mpmath.log(x, 2)) if x else float("-inf")


def render():
    ex = exp_tables()
    lg = log_tables()
    out = []
    w = out.append
    w("/*")
    w(" * exp_log_tables.h -- GENERATED by src_c/tools/exp_log_tables.py (do not")
    w(" * edit; rerun it): tables and coefficients of the E-step's exp and log")
    w(" * in kernels.inc. Included once by kernels.c; see the script")
    w(" * for why each size and degree.")
    w(" *")
    w(f" * exp: |r| <= {float(ex['r_max']):.6g} (ln2/{2 << EXP_BITS}), degree-{EXP_DEGREE} polynomial"
      f" abs. error")
    w(f" *   2^{log2_of(ex['poly_err']):.2f} (coefficients as rounded); table s_j (1 + t_j) ="
      f" 2^(j/{1 << EXP_BITS})")
    w(" *   to ~2^-106.")
    w(f" * log: |r| <= 2^{log2_of(lg['r_max']):.3f}; log1p(r) = r + r^2 P(r), P of degree"
      f" {LOG_P_DEGREE},")
    w(f" *   relative error 2^{log2_of(lg['poly_err']):.2f}; logc within"
      f" {float(lg['logc_err']):.4f} ulp of -log(invc).")
    w(" */")
    w("#ifndef CEM_EXP_LOG_TABLES_H")
    w("#define CEM_EXP_LOG_TABLES_H")
    w("")
    w("#include <stdint.h>")
    w("")
    w(f"#define CEM_EXP_TABLE_BITS {EXP_BITS}")
    w(f"#define CEM_EXP_INV_LN2_N {hexf(ex['inv_ln2_n'])}  /* {1 << EXP_BITS} / ln 2 */")
    w(f"#define CEM_EXP_LN2_N_HI {hexf(ex['ln2_hi'])}  /* ln2 / {1 << EXP_BITS},"
      f" {ex['hi_bits']} bits */")
    w(f"#define CEM_EXP_LN2_N_LO {hexf(ex['ln2_lo'])}")
    for j, c in enumerate(ex["poly"]):
        w(f"#define CEM_EXP_C{j + 2} {hexf(c)}")
    w("/* 2^64 in the exponent bits: without FMA the scale is made 2^64 too large")
    w(" * so that scale * t is never subnormal (x near -708), then taken out */")
    w("#define CEM_EXP_SCALE_UP (64ull << 52)")
    w("")
    w(f"#define CEM_LOG_TABLE_BITS {LOG_BITS}")
    w(f"#define CEM_LOG_OFFSET 0x{LOG_OFFSET:016x}ull  /* bits of z's lower end */")
    w(f"#define CEM_LOG_LN2_HI {hexf(lg['ln2_hi'])}  /* 21 trailing zero bits */")
    w(f"#define CEM_LOG_LN2_LO {hexf(lg['ln2_lo'])}")
    w(f"#define CEM_LOG_SPLIT_BITS {INVC_BITS}  /* invc's significant bits */")
    for j, c in enumerate(lg["poly"]):
        w(f"#define CEM_LOG_A{j + 2} {hexf(c)}")
    w("")

    def table(ctype, name, values, fmt, comment):
        w(f"/* {comment} */")
        w(f"static const {ctype} {name}[{len(values)}] = {{")
        for i in range(0, len(values), 2):
            w("    " + ", ".join(fmt(v) for v in values[i:i + 2]) + ",")
        w("};")
        w("")

    table("double", "cem_exp_tail", ex["tail"], hexf,
          f"t_j: (2^(j/{1 << EXP_BITS}) - s_j) / s_j, rounded")
    table("uint64_t", "cem_exp_sbits", ex["sbits"], lambda v: f"0x{v:016x}ull",
          f"bits of s_j = 2^(j/{1 << EXP_BITS}) rounded, less j << {52 - EXP_BITS}")
    table("double", "cem_log_invc", lg["invc"], hexf,
          "invc_i ~ 1 / (centre of subinterval i), 20 significant bits")
    table("double", "cem_log_logc", lg["logc"], hexf, "-log(invc_i), rounded")
    w("#endif")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the header is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        with open(HEADER) as f:
            same = f.read() == text
        print("up to date" if same else f"{HEADER} is stale: rerun {__file__}")
        sys.exit(0 if same else 1)
    with open(HEADER, "w") as f:
        f.write(text)
    print(f"wrote {HEADER}")


if __name__ == "__main__":
    main()
