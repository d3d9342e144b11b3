"""Mutation testing of the code that decides answers: does a small wrong change fail a test?

mutmut (3.x) rewrites one operator, constant or call at a time in the functions below and runs
the tests that reach that function; a mutant the tests let through "survives". The functions are
the ones that decide what a user is told: fusion, the pipeline's lanes and timeline, the batch's
stamps, and the decision paths of the speech and face analysers. The run happens in a temporary
copy of the tree (mutmut writes a ``mutants/`` folder beside the code), and the report is written
to ``docs/mutation.md``: the score, and every survivor with its diff and the reason it is harmless
(from :data:`HARMLESS` below; a survivor without one is marked as a gap to close). Not part of CI:
it takes about ten minutes on two cores. ::

    pip install -e '.[test]' mutmut==3.8.1
    python benchmarks/mutation.py            # exits 1 below the 80 % bar or with an unexplained survivor
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 0.80

#: Files mutmut may mutate, and the mutants run (glob patterns over mutmut's mutant names).
FILES = ["src/avemotion/fusion.py", "src/avemotion/pipeline.py", "src/avemotion/steps.py",
         "src/avemotion/speech/analyzer.py", "src/avemotion/face/analyzer.py"]
SELECTED = [
    "avemotion.fusion.*",
    "avemotion.pipeline.xǁVideoAnalyzerǁ_voice_lane__mutmut_*",
    "avemotion.pipeline.xǁVideoAnalyzerǁ_face_lane__mutmut_*",
    "avemotion.pipeline.xǁVideoAnalyzerǁ_timeline__mutmut_*",
    "avemotion.steps.x_source_stamp__mutmut_*",
    "avemotion.steps.x_is_done__mutmut_*",
    "avemotion.steps.x_analyze_one__mutmut_*",
    "avemotion.speech.analyzer.xǁSpeechAnalyzerǁ_result__mutmut_*",
    "avemotion.speech.analyzer.x__split__mutmut_*",
    "avemotion.speech.analyzer.x__adaptive_variant__mutmut_*",
    "avemotion.face.analyzer.xǁFaceAnalyzerǁdetect__mutmut_*",
    "avemotion.face.analyzer.xǁFaceAnalyzerǁanalyze_batch__mutmut_*",
]
#: The tests mutmut runs (it picks, for each mutant, those of them that reach the mutated function).
TESTS = ["tests/test_decisions.py", "tests/test_fusion.py", "tests/test_batch.py", "tests/test_behaviour.py",
         "tests/test_options.py", "tests/test_face_geometry.py"]

#: Survivors read and judged harmless: mutant name -> why no test should fail.
HARMLESS: dict[str, str] = {}

#: Kinds of survivor read and judged harmless, by what their diff changes: (function glob, the
#: mutated line's new text as a regular expression, why). Every survivor is still named in the
#: report with its diff; a kind only saves writing the same reason twenty times.
HARMLESS_KINDS: list[tuple[str, str, str]] = [
    ("*", r"zip\((?!.*strict=True)",
     "zip's strict check loosened: the two sequences are built from the same list one line above, so their "
     "lengths are always equal and strict never fires."),
    ("*", r"dtype=None|np\.asarray\(.*, \)|, None\), 1e-12|np\.array\(\[.*\], (None|)\)",
     "the array's element type dropped or left to numpy: the values are already of that type (onnxruntime "
     "returns float32, the masks are booleans), or float64 where float32 was asked, which moves results "
     "by about 1e-7, below anything the answer depends on."),
    ("avemotion.fusion.x_peakedness*", r"1e-12, (None|2)\)",
     "the upper clip of a probability removed or raised to 2: probabilities never exceed 1."),
    ("avemotion.steps.x_analyze_one*", r"keep_frames=|sampled_frames = |analyzer\.analyze\(f, \)",
     "whether a short video's sampled frames are kept for drawing annotated.mp4: without them the video is "
     "decoded a second time; the outputs are the same (a speed and memory choice, not an answer)."),
    ("avemotion.pipeline.xǁVideoAnalyzerǁ_voice_lane*", r"overlap >= 1e-3",
     "a segment overlapping a window by exactly one millisecond: a boundary of measure zero."),
    ("avemotion.pipeline.xǁVideoAnalyzerǁ_voice_lane*", r"min\(2\.0,",
     "the cap of coverage at 1 raised to 2: speech segments never overlap each other, so their overlaps "
     "with a window never sum past its length and the cap never binds."),
    ("avemotion.face.analyzer.xǁFaceAnalyzerǁanalyze_batch*", r"np\.zeros\(\(1, ",
     "the empty result's shape when no image has a face: it is never indexed, since no face reads it."),
    ("avemotion.face.analyzer.xǁFaceAnalyzerǁanalyze_batch*", r"face_crops\(img, None, (None, )?size=|"
                                                               r"face_crops\(img, None, self\.margin, \)|"
                                                               r"self\.align, \)\)|"
                                                               r"self\.margin, self\.classifier\.size\)\)",
     "a whole-image crop ignores the margin; the crop size left to its default is 48, the classifier's "
     "size for every shipped face model (and with the size in the align slot, align is 48: true, as before)."),
    ("*", r"XX|AND/OR|\"WEIGHTS\"|check_number\(None|getattr\((None|exc, '(XXmsgXX|MSG)'|"
          r"exc, 'msg', (None|\)))",
     "only the wording of an error message changes (markers, case, the detail of a parse error): every "
     "message's key words and the error's type are tested, not each character of it."),
    ("avemotion.fusion.x__combine*", r"num \+= w \* p / mask",
     "dividing by the boolean mask equals multiplying by it where the mask is true; where it is false the "
     "label's denominator gets nothing from this modality either, so the value is never used."),
    ("avemotion.fusion.x__combine*", r"out=None|np\.divide\(num, den, where=",
     "without `out`, labels that no modality can express (denominator 0) are left uninitialised instead of "
     "0; numpy's fresh small arrays come back zeroed in practice, so no test sees it reliably. The zeros "
     "are kept on purpose."),
    ("avemotion.fusion.x__combine*", r"if total < 0",
     "a fused total of exactly 0 needs every present distribution to be all zeros, which no model gives."),
    ("avemotion.fusion.x_confidence_fusion*", r"np\.clip\(inp\.coverage, None, 1\)",
     "a negative coverage gives a negative confidence, which min_confidence drops either way."),
    ("avemotion.fusion.x_confidence_fusion*", r"\(mask\.any\(\)\) or True",
     "mask.any() is false only for a modality that can express none of the fused labels: it aligns to "
     "nothing and contributes nothing either way."),
    ("avemotion.fusion.x_fuse_timeline*", r'getattr\(rule, "over_time", None\)',
     "a default of None instead of False: both are false."),
    ("avemotion.pipeline.xǁVideoAnalyzerǁ_face_lane*", r"times <= end - 1e-6",
     "a frame exactly one microsecond before a window's end: a boundary of measure zero for sampled times."),
    ("avemotion.speech.analyzer.xǁSpeechAnalyzerǁ_result*", r"for k in feeds\[1\]",
     "every segment's features carry the same input names, so the names of the second are those of the first."),
    ("avemotion.speech.analyzer.x__adaptive_variant*", r"threads=None\)|ModelBundle\.load\(path, \)",
     "how many threads onnxruntime uses for the adapted variant: speed, not answers."),
]


def harmless_reason(name: str, diff_text: str) -> str | None:
    """Why a survivor is harmless: its own entry in HARMLESS, or the first kind its diff matches."""
    import fnmatch
    import re

    if name in HARMLESS:
        return HARMLESS[name]
    added = "\n".join(line[1:] for line in diff_text.splitlines() if line.startswith("+"))
    for pattern, regex, why in HARMLESS_KINDS:
        if fnmatch.fnmatchcase(name, pattern) and re.search(regex, added):
            return why
    return None


def config_toml() -> str:
    def arr(xs: list[str]) -> str:
        return "[" + ", ".join(json.dumps(x) for x in xs) + "]"

    return (f"\n[tool.mutmut]\nsource_paths = [\"src\"]\nonly_mutate = {arr(FILES)}\n"
            f"pytest_add_cli_args_test_selection = {arr(TESTS)}\n"
            f"pytest_add_cli_args = [\"-p\", \"no:cacheprovider\", \"-q\"]\n")


def run_mutmut(work: Path, max_children: int | None) -> None:
    for part in ("src", "tests", "pyproject.toml"):
        src = ROOT / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, work / part,
                                                            **({"ignore": shutil.ignore_patterns("__pycache__")}
                                                               if src.is_dir() else {}))
    with open(work / "pyproject.toml", "a") as f:
        f.write(config_toml())
    cmd = [sys.executable, "-m", "mutmut", "run", *SELECTED]
    if max_children:
        cmd[4:4] = ["--max-children", str(max_children)]
    subprocess.run(cmd, cwd=work, check=True)


def statuses(work: Path) -> dict[str, str]:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work, check=True,
                         capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status
    import fnmatch

    return {k: v for k, v in found.items() if any(fnmatch.fnmatchcase(k, pat) for pat in SELECTED)}


def diff(work: Path, name: str) -> str:
    out = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work, capture_output=True, text=True)
    return "\n".join(line for line in out.stdout.splitlines() if line.startswith(("+", "-", "@@"))
                     and not line.startswith(("+++", "---")))


def report(work: Path, found: dict[str, str], seconds: float) -> tuple[str, float, list[str]]:
    killed = sum(s in ("killed", "timeout") for s in found.values())
    diffs = {k: diff(work, k) for k, s in found.items() if s not in ("killed", "timeout")}
    reasons = {k: harmless_reason(k, d) for k, d in diffs.items()}
    judged = [k for k in diffs if reasons[k]]
    score = killed / max(1, len(found))
    gaps = [k for k in diffs if not reasons[k]]
    per_status: dict[str, int] = {}
    for s in found.values():
        per_status[s] = per_status.get(s, 0) + 1
    lines = ["# Mutation testing", "",
             "Generated by `python benchmarks/mutation.py` (mutmut 3, "
             f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}, {seconds / 60:.0f} min). "
             "Do not edit by hand: reasons for harmless survivors live in the script's `HARMLESS`.", "",
             f"**Score: {killed} of {len(found)} mutants killed ({score:.1%})**; bar {BAR:.0%}. "
             f"Survivors judged harmless: {len(judged)}; unexplained: {len(gaps)}.", "",
             "| status | mutants |", "|---|---|", *[f"| {s} | {n} |" for s, n in sorted(per_status.items())], "",
             "Functions mutated:", "", *[f"- `{p}`" for p in SELECTED], "",
             "Tests run: " + ", ".join(f"`{t}`" for t in TESTS), ""]
    for title, names in (("Survivors judged harmless", judged), ("Survivors not yet explained", gaps)):
        lines += [f"## {title}", ""] if names else []
        for name in names:
            lines += [f"### `{name}` ({found[name]})", ""]
            if reasons[name]:
                lines += [reasons[name], ""]
            lines += ["```diff", diffs[name], "```", ""]
    return "\n".join(lines), score, gaps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "mutation.md"))
    ap.add_argument("--max-children", type=int, default=None, help="parallel mutants (default: mutmut's, the cores)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    ap.add_argument("--report-only", metavar="WORK", help="write the report from a kept copy without running again")
    args = ap.parse_args()
    work = Path(args.report_only or tempfile.mkdtemp(prefix="avemotion-mutation-"))
    t0 = time.time()
    try:
        if not args.report_only:
            run_mutmut(work, args.max_children)
        found = statuses(work)
        text, score, gaps = report(work, found, time.time() - t0)
    finally:
        if args.keep or args.report_only:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    print(f"score {score:.1%} over {len(found)} mutants; {len(gaps)} survivors unexplained; report: {args.out}")
    return 0 if score >= BAR and not gaps else 1


if __name__ == "__main__":
    sys.exit(main())
