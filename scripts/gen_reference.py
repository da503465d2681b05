#!/usr/bin/env python3
"""Reference data and polynomial coefficients for the pure core's math, from mpmath.

Usage (mpmath==1.3.0, 50 significant digits throughout):

    python3 scripts/gen_reference.py              # writes tests/data/*.csv
    python3 scripts/gen_reference.py coefficients # prints the Rust polynomial tables

Reference files (fixed seed, reproducible byte for byte):

* tests/data/bs_reference.csv and tests/data/bs_reference_2.csv (split to keep each
  file under ~3 MB): Black-Scholes price and Greeks. Inputs spot,strike,vol,years,rate
  are exact 18-decimal strings (generated as WAD integers); outputs carry 30
  significant digits. Edges and corners of the domain come first, then random points:
  log-uniform spot, strike/spot, vol and years, uniform rate. Conventions match
  src/black_scholes.rs: year = 365 days, vega per 1.00 of vol, theta = dV/dt per year
  of calendar time.
* tests/data/math_reference.csv: func,x,ref for ln, exp, sqrt, cdf, pdf on exact WAD x.

Coefficients: polynomial fits (Chebyshev interpolation, mpmath.chebyfit) evaluated in
Q96 fixed point by src/math.rs and src/normal.rs; printed as Rust constants, highest
degree first (Horner order), each rounded to the nearest multiple of 2^-96.
"""
import os
import random
import sys

from mpmath import mp, mpf, chebyfit, polyval, linspace, ncdf, npdf, sqrt, exp, log, atanh

mp.dps = 50
WAD = 10**18
Q = 2**96
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
YEAR_SECONDS = 365 * 24 * 3600

# Domain (mirrors src/black_scholes.rs), as WAD integers.
SPOT_MIN, SPOT_MAX = 10**12, 10**30  # 1e-6 .. 1e12
VOL_MIN, VOL_MAX = 10**15, 10 * WAD  # 0.001 .. 10
YEARS_MIN = -(-60 * WAD // YEAR_SECONDS)  # one minute, rounded up to a WAD
YEARS_MAX = 10 * WAD
RATE_MIN, RATE_MAX = -WAD // 10, WAD

# Polynomial fits: (name, function, interval, number of coefficients).
CDF_SPLIT = mpf("1.5")  # |x| below: odd polynomial; above: Mills ratio in t
TAIL_C = 5  # t = (x - 5) / (x + 5)
CDF_SATURATE = 10  # |x| >= 10: cdf is exactly 0 or 1 at Q96 (Q(10) = 7.6e-24)


def mills(x):
    return ncdf(-x) / npdf(x)


def fits():
    ln2 = log(2)
    half = ln2 / 2 * mpf("1.0001")
    zmax = (3 - 2 * sqrt(2)) * mpf("1.0001")  # (m-1)/(m+1) for m in [1/sqrt2, sqrt2]
    tmin = (CDF_SPLIT - TAIL_C) / (CDF_SPLIT + TAIL_C)
    tmax = mpf(CDF_SATURATE - TAIL_C) / (CDF_SATURATE + TAIL_C)
    inv = lambda t: TAIL_C * (1 + t) / (1 - t)
    center = lambda u: (ncdf(sqrt(u)) - mpf(1) / 2) / sqrt(u) if u > 0 else 1 / sqrt(2 * mp.pi)
    return [
        # exp(r), |r| <= ln2/2
        ("EXP_POLY", exp, [-half, half], 18,
         lambda c: max(abs(polyval(c, r) - exp(r)) / exp(r) for r in linspace(-half, half, 400))),
        # atanh(z)/z as a polynomial in w = z^2: ln(m) = 2 z P(z^2)
        ("LN_POLY", lambda w: atanh(sqrt(w)) / sqrt(w) if w > 0 else mpf(1), [0, zmax**2], 13,
         lambda c: max(abs(2 * z * polyval(c, z * z) - 2 * atanh(z)) for z in linspace(0, zmax, 400))),
        # (Phi(x) - 1/2) / x as a polynomial in u = x^2, |x| <= 1.5
        ("CDF_CENTER_POLY", center, [0, CDF_SPLIT**2], 15,
         lambda c: max(abs(polyval(c, x * x) * x - (ncdf(x) - mpf(1) / 2))
                       for x in linspace(0, CDF_SPLIT, 400))),
        # Mills ratio Q(x)/phi(x) as a polynomial in t = (x - 5)/(x + 5), 1.5 <= x <= 10
        ("CDF_TAIL_POLY", lambda t: mills(inv(t)), [tmin, tmax], 19,
         lambda c: max(abs(polyval(c, (x - TAIL_C) / (x + TAIL_C)) - mills(x)) * npdf(x)
                       for x in linspace(CDF_SPLIT, CDF_SATURATE, 400))),
    ]


def print_coefficients():
    for name, f, interval, n, err in fits():
        c = chebyfit(f, interval, n)
        ints = [int(mp.nint(ci * Q)) for ci in c]
        back = [mpf(i) / Q for i in ints]
        print(f"// {name}: {n} coefficients on [{mp.nstr(interval[0], 8)}, "
              f"{mp.nstr(interval[1], 8)}], max error {mp.nstr(err(back), 3)}",
              file=sys.stderr)
        print(f"const {name}: [i128; {n}] = [")
        for i in ints:
            print(f"    {i},")
        print("];")


def wad_str(v):
    """Exact decimal string of the WAD integer v, trailing zeros stripped."""
    sign = "-" if v < 0 else ""
    v = abs(v)
    s = f"{v // WAD}.{v % WAD:018d}".rstrip("0").rstrip(".")
    return sign + s


def sig(x, digits=30):
    if x == 0:
        return "0"
    return mp.nstr(x, digits, min_fixed=-5, max_fixed=25, strip_zeros=False)


def bs(spot, strike, vol, years, rate):
    s, k, v, t, r = (mpf(x) / WAD for x in (spot, strike, vol, years, rate))
    sq = sqrt(t)
    d1 = (log(s / k) + (r + v * v / 2) * t) / (v * sq)
    d2 = d1 - v * sq
    disc = exp(-r * t)
    n1, n2, nm1, nm2 = ncdf(d1), ncdf(d2), ncdf(-d1), ncdf(-d2)
    pdf1 = npdf(d1)
    call = s * n1 - k * disc * n2
    put = k * disc * nm2 - s * nm1
    gamma = pdf1 / (s * v * sq)
    vega = s * pdf1 * sq
    theta_common = -s * pdf1 * v / (2 * sq)
    theta_call = theta_common - r * k * disc * n2
    theta_put = theta_common + r * k * disc * nm2
    return [call, put, n1, n1 - 1, gamma, vega, theta_call, theta_put]


def round_sig(x, digits):
    """Round x (float) to `digits` significant digits, as an exact WAD integer."""
    d = mpf(x)
    e = int(mp.floor(mp.log10(abs(d)))) if d != 0 else 0
    scale = mpf(10) ** (e - digits + 1)
    return int(mp.nint(mp.nint(d / scale) * scale * WAD))


def in_domain(spot, strike, vol, years, rate):
    return (SPOT_MIN <= spot <= SPOT_MAX and SPOT_MIN <= strike <= SPOT_MAX
            and 100 * strike >= spot and strike <= 100 * spot
            and VOL_MIN <= vol <= VOL_MAX and YEARS_MIN <= years <= YEARS_MAX
            and RATE_MIN <= rate <= RATE_MAX)


def bs_points(rng, n_random):
    pts = []
    spots = [SPOT_MIN, 10**18, SPOT_MAX, 3 * 10**21]
    moneyness = [WAD // 100, WAD // 2, WAD, 2 * WAD, 100 * WAD]
    vols = [VOL_MIN, WAD // 5, VOL_MAX]
    times = [YEARS_MIN, WAD // 12, YEARS_MAX]
    rates = [RATE_MIN, 0, WAD // 20, RATE_MAX]
    for s in spots:
        for m in moneyness:
            k = s * m // WAD
            for v in vols:
                for t in times:
                    for r in rates:
                        if in_domain(s, k, v, t, r):
                            pts.append((s, k, v, t, r))
    u = lambda lo, hi: mp.exp(mpf(rng.uniform(float(mp.log(lo)), float(mp.log(hi)))))
    n_edges = len(pts)
    while len(pts) < n_edges + n_random:
        s = round_sig(u(mpf(SPOT_MIN) / WAD, mpf(SPOT_MAX) / WAD), 12)
        m = u(mpf("0.01"), mpf(100))
        k = round_sig(mpf(s) / WAD * m, 12)
        v = round_sig(u(mpf(VOL_MIN) / WAD, mpf(VOL_MAX) / WAD), 10)
        t = round_sig(u(mpf(YEARS_MIN) / WAD, mpf(YEARS_MAX) / WAD), 10)
        r = round_sig(mpf(rng.uniform(-0.1, 1.0)), 8)
        if in_domain(s, k, v, t, r):
            pts.append((s, k, v, t, r))
    return pts


def write_bs(rng):
    pts = bs_points(rng, 10_000)
    header = "spot,strike,vol,years,rate,call,put,delta_call,delta_put,gamma,vega,theta_call,theta_put\n"
    half = len(pts) // 2
    for name, chunk in (("bs_reference.csv", pts[:half]), ("bs_reference_2.csv", pts[half:])):
        with open(os.path.join(ROOT, "tests", "data", name), "w") as f:
            f.write(header)
            for p in chunk:
                out = bs(*p)
                f.write(",".join([wad_str(x) for x in p] + [sig(x) for x in out]) + "\n")
    return len(pts)


def write_math(rng):
    rows = []
    lnx = [1, 2, 10**9, 10**17, WAD - 1, WAD, WAD + 1, 2 * WAD, 10**30, 2**127 - 1]
    expx = [0, 1, -1, WAD, -WAD, 10 * WAD, -10 * WAD, 40 * WAD, -41 * WAD, -42 * WAD, 693147180559945309]
    sqrtx = [0, 1, 2, WAD, 2 * WAD, 10**30, 2**127 - 1, 3]
    normx = [0, 1, -1, WAD, -WAD, 15 * WAD // 10, -15 * WAD // 10, 8 * WAD, -8 * WAD,
             9 * WAD, -9 * WAD, 10 * WAD, -10 * WAD, 40 * WAD]
    for _ in range(1000):
        lnx.append(round_sig(mp.exp(mpf(rng.uniform(-41, 46.5))), 15))
        expx.append(int(rng.uniform(-41.4, 46.5) * 1e15) * 1000)
        sqrtx.append(round_sig(mp.exp(mpf(rng.uniform(-41, 46.5))), 15))
        normx.append(int(rng.uniform(-11, 11) * 1e15) * 1000)
    for x in lnx:
        rows.append(("ln", x, log(mpf(x) / WAD)))
    for x in expx:
        rows.append(("exp", x, exp(mpf(x) / WAD)))
    for x in sqrtx:
        rows.append(("sqrt", x, sqrt(mpf(x) / WAD)))
    for x in normx:
        rows.append(("cdf", x, ncdf(mpf(x) / WAD)))
        rows.append(("pdf", x, npdf(mpf(x) / WAD)))
    with open(os.path.join(ROOT, "tests", "data", "math_reference.csv"), "w") as f:
        f.write("func,x,ref\n")
        for fn, x, ref in rows:
            f.write(f"{fn},{wad_str(x)},{sig(ref, 40)}\n")
    return len(rows)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "coefficients":
        print_coefficients()
        return
    rng = random.Random(20240601)
    os.makedirs(os.path.join(ROOT, "tests", "data"), exist_ok=True)
    n = write_bs(rng)
    m = write_math(rng)
    print(f"wrote {n} Black-Scholes points and {m} math points")


if __name__ == "__main__":
    main()
