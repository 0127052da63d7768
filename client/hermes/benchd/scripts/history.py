#!/usr/bin/env python3
"""The benchd skill's records: one JSON line that sums up a benchmark, a VRAM
sample or a failure, for the agent to read; and a view of benchd's history.

    history.py record-run   --events FILE [--host H]      benchctl run -o jsonl output -> record
    history.py record-vram  --file FILE [--host H]        benchctl vram -o json output -> record
    history.py record-error --op OP (--stderr FILE | --code CODE --message M) [--events F | --output F]
                            [--model M] [--host H] [--exit N]
    history.py show [--last N] [--model M] [--table]      benchd's history (benchctl history)
    history.py advise CODE                                what a benchd error code means

The record-* commands print their record and keep nothing: the one history
is benchd's, on the host (every run with every trial, also those started
elsewhere); `show` reads it through the tunnel. Standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, cast

# With -o json or jsonl, benchctl ends stdout with {"error":{"code":"NOT_FOUND",
# "message":...}} when it fails; on stderr it prints `benchctl: CODE: message`,
# CODE as Go names it (NotFound). Both spellings map here.
ADVICE: Dict[str, Dict[str, Any]] = {
    "RESOURCE_EXHAUSTED": {"retry": True, "advice": "A benchmark is already running (benchd runs one "
                           "at a time; the message names it). Wait and retry; run_benchmark.sh already "
                           "retried for a while."},
    "NOT_FOUND": {"retry": False, "advice": "The model is not in ollama on that host. benchd never pulls: "
                  "ask a human to pull it (docker exec CONTAINER ollama pull MODEL on the host), or pick a model that is there."},
    "UNAVAILABLE": {"retry": True, "advice": "benchd is unreachable: the tunnel is closed (reopen it with "
                    "scripts/tunnel.sh open) or, if the tunnel is open, benchd, Docker or ollama is down on "
                    "the host: tell a human."},
    "INVALID_ARGUMENT": {"retry": False, "advice": "A request field is out of bounds; the message names the "
                         "field and the rule. Fix that flag and run again."},
    "FAILED_PRECONDITION": {"retry": False, "advice": "The ollama container is missing, stopped or paused, "
                            "or the VRAM source is missing on the host. Tell a human; the message says which."},
    "PERMISSION_DENIED": {"retry": False, "advice": "benchd refused this caller's uid: connect as the agent "
                          "account (ai-worker) with its key, not another login."},
    "DEADLINE_EXCEEDED": {"retry": False, "advice": "The benchmark hit its timeout: raise --timeout or lower "
                          "--reps / --max-tokens."},
    # Not benchd's: the scripts refused the local socket (local_socket.py).
    "UNSAFE_LOCAL_SOCKET": {"retry": False, "advice": "The local socket or its directory belongs to another "
                            "user or others can write to it, so whatever answers there might not be benchd; "
                            "nothing was sent. Do not work around it: tell a human (the message names the "
                            "path and its owner), or set BENCHD_SOCKET to a path in a directory of your own "
                            "(mode 0700)."},
}

ERR_LINE = re.compile(r"^benchctl: ([A-Za-z_]+): (.*)$")


def canonical_code(code: str) -> str:
    """NotFound / NOT_FOUND / not_found -> NOT_FOUND."""
    key = code.replace("_", "").upper()
    for name in ADVICE:
        if name.replace("_", "") == key:
            return name
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", code).upper()


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def append(rec: Dict[str, Any]) -> None:
    """Prints rec, one line: the skill keeps no copy of benchd's history."""
    print(json.dumps(rec, sort_keys=True, separators=(",", ":")))


def num(v: Any) -> float:
    """protojson writes 64-bit integers as strings and omits zeros."""
    if v is None:
        return 0
    if isinstance(v, str):
        return float(v)
    return cast(float, v)


def read_events(path: str) -> List[Dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def cmd_record_run(a: argparse.Namespace) -> int:
    events = read_events(a.events)
    started = next((e["started"] for e in events if "started" in e), None)
    finished = next((e["finished"] for e in events if "finished" in e), None)
    trials = [e["trial"] for e in events if "trial" in e]
    if started is None or finished is None:
        print("history.py: no started/finished event in " + a.events, file=sys.stderr)
        return 1
    bid = started.get("benchmark_id", "")
    stats = {k: {s: num(v.get(s)) for s in ("n", "mean", "stddev", "min", "max", "p50", "p95")}
             for k, v in finished.items() if isinstance(v, dict)}
    measured = [t for t in trials if not t.get("warmup")]
    append({
        "kind": "benchmark", "ok": True, "time": now(), "host": a.host,
        "benchmark_id": bid, "model": started.get("model", ""),
        "model_info": started.get("model_info", {}),
        "ollama_version": started.get("ollama_version", ""),
        "settings": started.get("settings", {}),
        "gpus": [{"index": int(num(g.get("index"))), "name": g.get("name", ""),
                  "total_bytes": int(num(g.get("total_bytes")))} for g in started.get("gpus", [])],
        "trials": int(num(finished.get("trials"))),
        "done_reasons": sorted({t.get("done_reason", "") for t in measured}),
        "stats": stats,
    })
    return 0


def cmd_record_vram(a: argparse.Namespace) -> int:
    with open(a.file, encoding="utf-8") as f:
        res = json.load(f)
    gpus = [{"index": int(num(g.get("index"))), "name": g.get("name", ""), "vendor": g.get("vendor", ""),
             "source": g.get("source", ""), "total_bytes": int(num(g.get("total_bytes"))),
             "used_bytes": int(num(g.get("used_bytes"))), "sampled_at": g.get("sampled_at", "")}
            for g in res.get("gpus", [])]
    append({"kind": "vram", "ok": True, "time": now(), "host": a.host, "gpus": gpus})
    return 0


def parse_error(text: str) -> Dict[str, str]:
    for line in text.splitlines():
        m = ERR_LINE.match(line.strip())
        if m:
            return {"code": canonical_code(m.group(1)), "message": m.group(2)}
    last = text.strip().splitlines()[-1] if text.strip() else "no output"
    # benchctl's own failures (bad usage, unreachable before any RPC) have no code.
    return {"code": "UNKNOWN", "message": last.removeprefix("benchctl: ")}


def error_record(path: Optional[str]) -> Optional[Dict[str, str]]:
    """The error record that ends benchctl's stdout (-o json/jsonl), if any."""
    if not path or not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [line for line in f if line.strip()]
        rec = json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None
    err = rec.get("error") if isinstance(rec, dict) else None
    if not isinstance(err, dict) or not err.get("code"):
        return None
    return {"code": canonical_code(str(err["code"])), "message": str(err.get("message", ""))}


def cmd_record_error(a: argparse.Namespace) -> int:
    if a.code:
        err = {"code": canonical_code(a.code), "message": a.message}
    elif (rec := error_record(a.events or a.output)) is not None:
        err = rec
    else:
        with open(a.stderr, encoding="utf-8", errors="replace") as f:
            err = parse_error(f.read())
    info = ADVICE.get(err["code"], {"retry": False, "advice": "Unexpected: report the message to a human."})
    rec = {"kind": a.op, "ok": False, "time": now(), "host": a.host, "exit": a.exit,
           "code": err["code"], "message": err["message"], "retry": info["retry"], "advice": info["advice"]}
    if a.model:
        rec["model"] = a.model
    started = None
    if a.events and os.path.exists(a.events):
        try:
            started = next((e["started"] for e in read_events(a.events) if "started" in e), None)
        except (OSError, ValueError):
            started = None  # a half-written last line: no id to report
    if started is not None:
        # The stream broke after the run began. Runs belong to benchd: this
        # one goes on (or ended) on the host and is kept in benchd's history.
        rec["benchmark_id"] = started.get("benchmark_id", "")
        rec["retry"] = False
        rec["advice"] = ("The benchmark " + rec["benchmark_id"] + " started and runs on in benchd even though "
                         "this client lost it (" + err["code"] + "). Do not start it again: wait until "
                         "run_benchmark.sh stops getting RESOURCE_EXHAUSTED, then report it as lost to the "
                         "client; benchd keeps its full record on the host.")
    append(rec)
    return 0


def load(a: argparse.Namespace) -> List[Dict[str, Any]]:
    """benchd's history, newest first, as `benchctl history -o json` lists it."""
    here = Path(__file__).resolve().parent
    sock = os.environ.get("BENCHD_SOCKET") or subprocess.run(
        [sys.executable, str(here / "local_socket.py")], check=True, capture_output=True, text=True).stdout.strip()
    cmd = [os.environ.get("BENCHCTL", "benchctl"), "--socket", sock, "history", "-o", "json",
           "--limit", str(a.last or 20)]
    if a.model:
        cmd += ["--model", a.model]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("history.py: " + (out.stderr.strip() or "benchctl history failed") +
                         " (is the tunnel open? scripts/tunnel.sh ensure)")
    return cast(List[Dict[str, Any]], json.loads(out.stdout).get("benchmarks", []))


def cmd_show(a: argparse.Namespace) -> int:
    for b in load(a):
        f = b.get("finished") or {}
        er, ttft = f.get("eval_rate") or {}, f.get("ttft_ns") or {}
        rec = {"benchmark_id": b.get("benchmark_id"), "model": b.get("model"),
               "state": str(b.get("state", "")).replace("BENCHMARK_STATE_", ""),
               "created_at": b.get("created_at"), "trials": int(num(f.get("trials"))),
               "eval_rate": num(er.get("mean")), "eval_rate_stddev": num(er.get("stddev")),
               "ttft_ms": num(ttft.get("mean")) / 1e6, "unstable": f.get("unstable_reason", ""),
               "error": b.get("error_message", "")}
        if not a.table:
            print(json.dumps(rec, sort_keys=True, separators=(",", ":")))
        elif rec["state"] != "SUCCEEDED":
            print(f"{rec['created_at']}  {rec['model']}  {rec['state']}  {rec['error']}  [{rec['benchmark_id']}]")
        else:
            print(f"{rec['created_at']}  {rec['model']}  n={rec['trials']}  eval {rec['eval_rate']:.1f}±"
                  f"{rec['eval_rate_stddev']:.1f} tok/s  ttft {rec['ttft_ms']:.1f} ms  [{rec['benchmark_id']}]")
    return 0


def cmd_advise(a: argparse.Namespace) -> int:
    code = canonical_code(a.code)
    info = ADVICE.get(code)
    if info is None:
        print(json.dumps({"code": code, "retry": False, "advice": "Unexpected: report the message to a human."}))
        return 1
    print(json.dumps({"code": code, **info}))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="The benchd skill's records and benchd's history.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    host = os.environ.get("BENCHD_HOST") or "local"
    p = sub.add_parser("record-run")
    p.add_argument("--events", required=True)
    p.add_argument("--host", default=host)
    p.set_defaults(fn=cmd_record_run)
    p = sub.add_parser("record-vram")
    p.add_argument("--file", required=True)
    p.add_argument("--host", default=host)
    p.set_defaults(fn=cmd_record_vram)
    p = sub.add_parser("record-error")
    p.add_argument("--op", required=True, choices=["benchmark", "vram"])
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--stderr", help="benchctl's stderr, with its `benchctl: CODE: message` line")
    how.add_argument("--code", help="a code given directly (with --message)")
    p.add_argument("--message", default="")
    p.add_argument("--events", help="the events received before the failure (benchctl run -o jsonl), "
                   "ending with benchctl's error record")
    p.add_argument("--output", help="benchctl's stdout with -o json, ending with its error record")
    p.add_argument("--model", default="")
    p.add_argument("--host", default=host)
    p.add_argument("--exit", type=int, default=1)
    p.set_defaults(fn=cmd_record_error)
    p = sub.add_parser("show")
    p.add_argument("--last", type=int, default=0, help="how many runs (default 20)")
    p.add_argument("--model")
    p.add_argument("--table", action="store_true", help="one human-readable line per run")
    p.set_defaults(fn=cmd_show)
    p = sub.add_parser("advise")
    p.add_argument("code")
    p.set_defaults(fn=cmd_advise)
    a = ap.parse_args(argv)
    return int(a.fn(a))


if __name__ == "__main__":
    sys.exit(main())
