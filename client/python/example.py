#!/usr/bin/env python3
"""Runs one benchmark and one VRAM sample through benchd and prints both.

    pip install ./client/python
    python3 client/python/example.py --target unix:///tmp/benchd.sock tiny --max-tokens 16

Without --target it goes where benchctl goes ($BENCHD_HOST, $BENCHD_SOCKET,
benchd's own socket). Exit status 0 on success, 1 with ``example: CODE:
message`` on a benchd error.
"""

from __future__ import annotations

import argparse
import sys

from benchd_client import TARGET_FORMS, BenchdError, Client, Event


def on_event(ev: Event) -> None:
    if ev.started is not None:
        s = ev.started
        print(f"started {s.benchmark_id}: {s.model} ({s.model_info.family} {s.model_info.parameter_size}, "
              f"ollama {s.ollama_version}), settings {s.settings}")
    elif ev.trial is not None:
        t = ev.trial
        kind = "warm-up" if t.warmup else "trial"
        print(f"{kind} {t.index}: {t.eval_count} tokens, {t.eval_rate:.1f} tok/s, "
              f"ttft {t.ttft_ns / 1e6:.1f} ms, peak VRAM {t.peak_vram_used_bytes} B, {t.done_reason}")
    elif ev.finished is not None:
        print(f"finished: {len(ev.finished)} metrics")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--target", "--socket", default=None,
                    help=f"{TARGET_FORMS}; default as benchctl's")
    ap.add_argument("--reps", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--max-tokens", type=int, default=None)
    args = ap.parse_args()

    try:
        with Client(args.target) as c:
            print("health:", c.health())
            res = c.run_benchmark(args.model, repetitions=args.reps, warmup=args.warmup,
                                  max_tokens=args.max_tokens, on_event=on_event)
            er, ttft = res.stats["eval_rate"], res.stats["ttft_ns"]
            print(f"result {res.benchmark_id}: {len(res.measured)} measured trials, "
                  f"eval rate mean {er.mean:.1f} tok/s (sd {er.stddev:.1f}, p95 {er.p95:.1f}), "
                  f"ttft mean {ttft.mean / 1e6:.1f} ms")
            stored = c.get_benchmark(res.benchmark_id)
            print(f"stored by benchd: {stored.state}, {len(stored.trials)} trials, "
                  f"machine {stored.started.machine.hostname if stored.started else '?'}")
            for g in c.sample_vram():
                print(f"vram gpu {g.index}: {g.name} [{g.vendor}, {g.source}] "
                      f"{g.used_bytes / 2**30:.2f} / {g.total_bytes / 2**30:.2f} GiB used")
    except BenchdError as e:
        print(f"example: {e.code}: {e.message}\nexample: what to do: {e.advice}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
