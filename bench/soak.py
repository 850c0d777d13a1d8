"""Soak: open-loop load at 80% of the gateway's measured capacity for 10 minutes; 0 errors, flat RSS.

    python bench/soak.py                     # capacity, then 600 s at 80% of it
    python bench/soak.py --duration 120      # a shorter run
    python bench/soak.py --rate 200          # a fixed rate instead of 80% of the measured capacity

Same servers and generator as `overload.py` (admission control at its defaults). Every answer other than
200 counts as an error here - a 503 OVERLOADED included, since 80% of capacity should never need shedding.
Prints per-minute figures (rate, errors, latency from the scheduled send time, RSS) and a verdict: errors
and RSS growth between the first and last tenth of the run. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse

from overload import (
    SUMMARY_HEADER,
    error_kinds,
    measure_capacity,
    open_loop,
    print_slices,
    print_summary,
    servers,
    summary,
)

#: RSS growth (MB) between the first and the last tenth of the run still called flat (allocator noise).
FLAT_RSS_MB = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load (default 600)")
    parser.add_argument("--load", type=float, default=0.8, help="rate as a multiple of capacity")
    parser.add_argument("--rate", type=float, help="req/s (skips the capacity measurement)")
    parser.add_argument("--connections", type=int, default=32, help="closed-loop connections (capacity)")
    parser.add_argument("--capacity-seconds", type=float, default=10.0)
    parser.add_argument("--upstream-latency-ms", type=float, default=0.0, help="sandbox latency per call")
    parser.add_argument("--slices", type=int, default=60, help="print per-interval figures every N s")
    args = parser.parse_args(argv)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    with servers(None, args.upstream_latency_ms) as gateway:
        rate = args.rate or measure_capacity(gateway, args) * args.load
        run = open_loop(gateway, rate, args.duration)
    print(f"\nsoak: {rate:.0f} req/s open-loop for {args.duration:g} s")
    print_slices(run, args.slices)
    print(f"errors: {error_kinds(run)}")
    figures = summary(run)
    print(f"\n{SUMMARY_HEADER}")
    print_summary("soak", rate, figures)
    errors = figures["errors"] + figures["shed"]
    growth = figures["rss_end"] - figures["rss_start"]
    verdict = "PASS" if errors == 0 and growth <= FLAT_RSS_MB else "FAIL"
    print(f"\n{verdict}: {errors:.0f} non-200 answers; RSS {growth:+.1f} MB first to last tenth")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
