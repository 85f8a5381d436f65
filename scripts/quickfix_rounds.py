#!/usr/bin/env python3
"""The figures of scripts/compare-quickfix's rounds: one line per run, and per-round ratios.

Usage:
  quickfix_rounds.py run KIND FILE        one line for a run's output: KIND is quickfix-rtt
                                          (the peer's RTT line), quickfix-flood (the FLOOD line),
                                          fixring-rtt or fixring-flood (`fixring bench --json`)
  quickfix_rounds.py summary KIND DIR N   the ratios of rounds 0..N-1 of KIND (closed or flood),
                                          read from DIR/<r>.quickfix and DIR/<r>.fixring.json

Ratios are taken within a round (a QuickFIX run and a fixring run next to each other), so a
machine whose speed drifts between minutes moves both sides of a ratio alike. Each is shown as
the median of the rounds with [min-max] and how many rounds reached TARGET times. Python 3
standard library only.
"""

import json
import statistics
import sys

TARGET = 10.0


def quickfix_fields(path, prefix):
    """The key=value fields of the file's first line starting with prefix (RTT or FLOOD)."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.split()
            if words and words[0] == prefix:
                return {k: float(v) for k, v in (w.split("=", 1) for w in words[1:] if "=" in w)}
    raise SystemExit(f"quickfix_rounds: no {prefix} line in {path}")


def fixring_scenarios(path):
    """fixring bench --json's scenarios by name."""
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    return {s["name"]: s for s in report["scenarios"]}


def us(ns):
    return f"{ns / 1000:.1f}µs"


def run_line(kind, path):
    if kind == "quickfix-rtt":
        q = quickfix_fields(path, "RTT")
        return (f"quickfix-cpp  p50={us(q['p50_ns'])} p99={us(q['p99_ns'])} "
                f"p99.9={us(q['p999_ns'])} count={q['count']:.0f}")
    if kind == "quickfix-flood":
        q = quickfix_fields(path, "FLOOD")
        return (f"quickfix-cpp  msgs/s={q['msgs_per_s']:.0f} p50={us(q['p50_ns'])} "
                f"p99={us(q['p99_ns'])} count={q['count']:.0f}")
    scenarios = fixring_scenarios(path)
    parts = []
    for name, s in scenarios.items():
        if kind == "fixring-rtt":
            parts.append(f"{name} p50={us(s['p50_ns'])} p99={us(s['p99_ns'])}")
        elif kind == "fixring-flood":
            # The loops' CPU clocks may be unreadable: `null` in the JSON.
            cpu = s["cpu_us_per_msg"]
            cpu = "-" if cpu is None else f"{cpu:.2f}µs/msg"
            parts.append(f"{name} msgs/s={s['msgs_per_s']:.0f} p50={us(s['p50_ns'])} "
                         f"p99={us(s['p99_ns'])} cpu={cpu} "
                         f"syscalls={s['syscalls_per_msg']:.2f}/msg")
        else:
            raise SystemExit(f"quickfix_rounds: unknown run kind {kind}")
    return "fixring       " + " | ".join(parts)


def ratio_line(label, ratios, target):
    """label: median [min-max] and rounds >= TARGET; target marks the lines with a target."""
    n = len(ratios)
    reached = sum(1 for r in ratios if r >= TARGET)
    mark = "  (target)" if target else ""
    return (f"  {label:<36} {statistics.median(ratios):6.2f}× "
            f"[{min(ratios):.2f}–{max(ratios):.2f}]  rounds ≥ {TARGET:g}×: {reached}/{n}{mark}")


def summary(kind, directory, rounds):
    quickfix = []
    fixring = []
    for r in range(rounds):
        prefix = "RTT" if kind == "closed" else "FLOOD"
        quickfix.append(quickfix_fields(f"{directory}/{r}.quickfix", prefix))
        fixring.append(fixring_scenarios(f"{directory}/{r}.fixring.json"))
    lines = []
    if kind == "closed":
        lines.append("  per round, QuickFIX's latency over fixring's (× = how many times lower "
                     "fixring's is):")
        rows = [
            ("QuickFIX p50 / uring p50", "p50_ns", "uring", True),
            ("QuickFIX p99 / uring p99", "p99_ns", "uring", True),
            ("QuickFIX p50 / epoll p50", "p50_ns", "epoll", False),
            ("QuickFIX p99 / epoll p99", "p99_ns", "epoll", False),
            ("QuickFIX p50 / baseline p50 (floor)", "p50_ns", "baseline", False),
        ]
        for label, key, name, target in rows:
            if all(name in f for f in fixring):
                ratios = [q[key] / f[name][key] for q, f in zip(quickfix, fixring)]
                lines.append(ratio_line(label, ratios, target))
        medians = [("QuickFIX", statistics.median(q["p50_ns"] for q in quickfix))]
        for name in ("baseline", "uring", "epoll"):
            if all(name in f for f in fixring):
                medians.append((name, statistics.median(f[name]["p50_ns"] for f in fixring)))
        lines.append("  median p50 of the rounds: "
                     + ", ".join(f"{name} {us(v)}" for name, v in medians))
    elif kind == "flood":
        lines.append("  per round, fixring's throughput over QuickFIX's (× = how many times more "
                     "msgs/s):")
        # The target is set for one session; many sessions are shown beside it.
        one_session = all(q.get("sessions") == 1 for q in quickfix)
        for name, target in (("uring", one_session), ("epoll", False)):
            if all(name in f for f in fixring):
                ratios = [f[name]["msgs_per_s"] / q["msgs_per_s"]
                          for q, f in zip(quickfix, fixring)]
                lines.append(ratio_line(f"{name} msgs/s / QuickFIX msgs/s", ratios, target))
        medians = [("QuickFIX", statistics.median(q["msgs_per_s"] for q in quickfix))]
        for name in ("uring", "epoll"):
            if all(name in f for f in fixring):
                medians.append((name, statistics.median(f[name]["msgs_per_s"] for f in fixring)))
        lines.append("  median msgs/s of the rounds: "
                     + ", ".join(f"{name} {v:.0f}" for name, v in medians))
    else:
        raise SystemExit(f"quickfix_rounds: unknown summary kind {kind}")
    return "\n".join(lines)


def main(argv):
    if len(argv) == 4 and argv[1] == "run":
        print(run_line(argv[2], argv[3]))
    elif len(argv) == 5 and argv[1] == "summary":
        print(summary(argv[2], argv[3], int(argv[4])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
