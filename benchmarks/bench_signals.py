"""What one ``LexiconSignalDetector.detect`` call costs.

Run from the repository root::

    python benchmarks/bench_signals.py            # about 10 s
    python benchmarks/bench_signals.py --quick    # about 2 s

The figure is microseconds per call: the best of several rounds of ``time.perf_counter_ns``
around a batch of calls, with this thread's CPU time (``time.thread_time_ns``) beside it. A
wall time well above the CPU time means the process waited for a core. The detector and the
conversation are built before the timer starts. Always exits 0.
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from collections.abc import Callable

from serviceplaybook import LexiconSignalDetector
from serviceplaybook.testing.contracts import conversation

TYPICAL = (
    "Hi, my order #4471 arrived yesterday but the blender jug is cracked. "
    "Could you send a replacement or refund me please?"
)
CASES = {
    f"typical ({len(TYPICAL)} chars)": TYPICAL,
    "angry, shouting, repeat contact": "This is the THIRD time I write!!! Absolutely RIDICULOUS.",
    "obfuscated abuse (second reading)": "you f*cking id10t, s.t.u.p.i.d service",
    "sarcasm": "Oh wonderful, waited 3 weeks and it's broken. Great, another refund form.",
    "empty": "",
}
LONG = ("Great, another broken order. You idiot, I'll sue you!!! " * 2_000)[:100_000]


def per_call(function: Callable[[], object], calls: int, rounds: int) -> tuple[float, float]:
    """Best wall and CPU microseconds per call over ``rounds`` batches of ``calls``."""
    function()  # warm up (the lexicon is compiled once, as in a running desk)
    walls, cpus = [], []
    for _ in range(rounds):
        gc.collect()
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        for _ in range(calls):
            function()
        walls.append((time.perf_counter_ns() - wall) / calls / 1000)
        cpus.append((time.thread_time_ns() - cpu) / calls / 1000)
    return min(walls), min(cpus)


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    quick = parser.parse_args().quick
    calls, rounds = (2_000, 5) if quick else (10_000, 9)
    detector = LexiconSignalDetector()
    so_far = conversation()
    print("serviceplaybook signal detector")
    print(f"python        {platform.python_implementation()} {platform.python_version()}")
    print(f"platform      {platform.platform()}")
    print(f"\n{'case':40} {'wall us/call':>13} {'cpu us/call':>12}")
    for name, text in CASES.items():
        wall, cpu = per_call(lambda text=text: detector.detect(text, so_far), calls, rounds)
        print(f"{name:40} {wall:13.2f} {cpu:12.2f}")
    wall, cpu = per_call(lambda: detector.read(TYPICAL), calls, rounds)
    print(f"{'  of which read() (the pattern scan)':40} {wall:13.2f} {cpu:12.2f}")
    wall, cpu = per_call(lambda: detector.detect(LONG, so_far), 3, 3)
    print(f"{'100 kB message':40} {wall:13.2f} {cpu:12.2f}")
    started = time.perf_counter()
    LexiconSignalDetector(lexicon=detector.lexicon.extended(insults=["numpty"]))
    print(f"\ncompiling a custom lexicon: {(time.perf_counter() - started) * 1000:.1f} ms")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
