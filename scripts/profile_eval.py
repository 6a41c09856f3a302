"""Cost of the lite pose profile in events and verdicts (issue 19), from keypoints of both profiles.

Why a script: the answer is "what does the lite model change in what the athlete is told", which is
``leancam eval`` (events against hand labels) and ``leancam analyze --json`` (verdicts) run on the
same clip with keypoints from each profile. Keypoints come from ``leancam pose CLIP --out`` with a
config that fixes ``[pose] profile``; this script only reads them (no model runs here).

    for p in full lite; do printf '[pose]\\nprofile = "%s"\\n' $p > /tmp/$p.toml; done
    nice .venv/bin/leancam pose ../shared/data/sprint_starts/b2.mp4 --config /tmp/lite.toml --out KP/lite/b2.jsonl
    .venv/bin/python scripts/profile_eval.py KP   # KP/full/*.jsonl and KP/lite/*.jsonl

Per clip and profile it prints recall (matched ÷ decidable labels), median |timing error| in ms and
extra detections per event type, and verdict agreement of lite against full: initiation verdict,
and strides paired by the same foot with contact times within 100 ms.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEANCAM = REPO / ".venv" / "bin" / "leancam"
DATA = REPO.parent / "shared" / "data"
PAIR_S = 0.100  # strides of the two profiles are the same stride when contacts are this close


@dataclass(frozen=True)
class Clip:
    name: str
    video: Path
    labels: Path
    args: tuple[str, ...]


def clips() -> list[Clip]:
    out = [Clip(f"b{i}", DATA / "sprint_starts" / f"b{i}.mp4", DATA / "sprint_starts" / f"b{i}.csv",
                ("--first-row-initiation",)) for i in range(2, 9)]
    index = json.loads((REPO / "tests" / "data" / "labels" / "index.json").read_text())
    out.append(Clip("treadmill_slowmo", DATA / "treadmill_slowmo.mp4",
                    REPO / "tests" / "data" / "labels" / index["treadmill_slowmo.mp4"]["labels"],
                    ("--capture-fps", "300", "--every", "6")))
    return out


def leancam(*args: str) -> str:
    proc = subprocess.run([str(LEANCAM), *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"leancam {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def eval_table(clip: Clip, kp: Path, every: int = 1) -> dict[str, dict[str, float | None]]:
    """Per event type: labels, matched, n/a, extra, median |error| ms (parsed from ``leancam eval``).

    ``every`` > 1 analyses every N-th frame (times the clip's own ``--every``): the frame rate a
    board sustains with that profile, not the clip's.
    """
    args = list(clip.args)
    if "--every" in args:
        i = args.index("--every") + 1
        args[i] = str(int(args[i]) * every)
    elif every > 1:
        args += ["--every", str(every)]
    text = leancam("eval", str(clip.video), str(clip.labels), "--keypoints", str(kp), *args)
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 11 and f[1].isdigit():
            rows[f[0]] = {"labels": int(f[1]), "matched": int(f[2]), "na": int(f[4]), "extra": int(f[5]),
                          "med_ms": None if f[8] == "-" else float(f[8])}
    return rows


def verdicts(clip: Clip, kp: Path) -> dict:
    args = [a for a in clip.args if a not in ("--first-row-initiation", "--every", "6")]
    return json.loads(leancam("analyze", str(clip.video), "--keypoints", str(kp), "--json", *args))


def agreement(full: dict, lite: dict) -> tuple[int, int, str]:
    """(strides paired, of which same verdict, initiation verdicts 'full/lite')."""
    paired = same = 0
    used: set[int] = set()
    for s in full.get("strides", []):
        best = None
        for j, t in enumerate(lite.get("strides", [])):
            if j in used or t.get("foot") != s.get("foot") or s.get("contact_t_s") is None \
                    or t.get("contact_t_s") is None:
                continue
            d = abs(t["contact_t_s"] - s["contact_t_s"])
            if d <= PAIR_S and (best is None or d < best[0]):
                best = (d, j)
        if best is not None:
            used.add(best[1])
            paired += 1
            same += lite["strides"][best[1]].get("verdict") == s.get("verdict")
    fi, li = full.get("initiation") or {}, lite.get("initiation") or {}
    return paired, same, f"{fi.get('verdict', '-')}/{li.get('verdict', '-')}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kp_dir", type=Path, help="folder with full/ and lite/ keypoint files (CLIP.jsonl)")
    parser.add_argument("--every-full", type=int, default=1, metavar="N",
                        help="analyse the full profile's keypoints at 1/N of the clip's rate (a board that "
                             "runs it slower than the camera); verdicts are then not compared")
    parser.add_argument("--every-lite", type=int, default=1, metavar="N", help="the same for the lite profile")
    args = parser.parse_args(argv)
    every = {"full": args.every_full, "lite": args.every_lite}
    same_rate = args.every_full == args.every_lite == 1
    totals: dict[str, dict[str, dict[str, float]]] = {"full": {}, "lite": {}}
    errs: dict[str, dict[str, list[float]]] = {"full": {}, "lite": {}}
    n_pair = n_same = 0
    print(f"{'clip':17s} {'profile':7s} " + "  ".join(f"{e:>24s}" for e in
                                                       ("initiation", "contact", "midstance", "toe_off"))
          + "   verdicts lite vs full")
    for clip in clips():
        kps = {p: args.kp_dir / p / f"{clip.name}.jsonl" for p in ("full", "lite")}
        if not all(k.is_file() for k in kps.values()):
            print(f"{clip.name:17s} keypoints missing, skipped", file=sys.stderr)
            continue
        paired = same = 0
        init = "-"
        if same_rate:
            v = {p: verdicts(clip, k) for p, k in kps.items()}
            paired, same, init = agreement(v["full"], v["lite"])
        n_pair, n_same = n_pair + paired, n_same + same
        for p, kp in kps.items():
            table = eval_table(clip, kp, every[p])
            cells = []
            for e in ("initiation", "contact", "midstance", "toe_off"):
                r = table.get(e)
                if not r or r["labels"] == 0:
                    cells.append(f"{'-':>24s}")
                    continue
                t = totals[p].setdefault(e, {"labels": 0, "matched": 0, "na": 0, "extra": 0})
                for k in t:
                    t[k] += r[k]
                if r["med_ms"] is not None:
                    errs[p].setdefault(e, []).append(r["med_ms"])
                dec = r["labels"] - r["na"]
                med = "-" if r["med_ms"] is None else f"{r['med_ms']:.0f}"
                cells.append(f"{r['matched']:>3d}/{dec:<3d} {med:>4s} ms +{r['extra']:<3d}".rjust(24))
            extra = f"   {same}/{paired} strides same, init {init}" if p == "lite" and same_rate else ""
            print(f"{clip.name:17s} {p:7s} " + "  ".join(cells) + extra)
    print("\ntotals: matched/decidable labels (recall), extra detections, median of the per-clip median |error|")
    for p in ("full", "lite"):
        parts = []
        for e, t in totals[p].items():
            dec = t["labels"] - t["na"]
            med = sorted(errs[p].get(e, []))
            m = f"{med[len(med) // 2]:.0f} ms" if med else "-"
            parts.append(f"{e} {int(t['matched'])}/{int(dec)} ({t['matched'] / dec:.0%}) +{int(t['extra'])} {m}"
                         if dec else f"{e} -")
        print(f"  {p}: " + "; ".join(parts))
    if n_pair:
        print(f"  stride verdicts, lite vs full: {n_same}/{n_pair} paired strides agree ({n_same / n_pair:.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
