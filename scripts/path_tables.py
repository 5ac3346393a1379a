"""Regenerate the README's path tables and figures from the shipped models, with the
exact `latentlab interpolate` commands the README shows (so they cannot drift apart).

    python scripts/path_tables.py            # run every command, rewrite README blocks and figures
    python scripts/path_tables.py --list     # print the commands only

Each README block sits between ``<!-- path-tables:NAME -->`` and
``<!-- /path-tables:NAME -->`` and holds the command and what it printed (the table
from its header line on; the legend lines are explained in the README's prose and in
docs/path-measures.md). The comparison window's screenshot is rendered offscreen on a
virtual 1366x768 screen. Rerun after rebuilding the pretrained models: the numbers
and verdicts follow the models, the prose around the blocks may need a new look.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
P = "resources/pretrained"
LADDER = ("vae-beta0.5", "vae", "vae-beta2", "vae-beta4", "vae-beta8")
LADDER_NAMES = "β = 0.5,β = 1,β = 2,β = 4,β = 8"
SIX = ("ae", "vae", "vae-beta4", "vae-beta8", "msvae", "vae-16d")
SIX_NAMES = "AE (2-D),VAE (2-D),β-VAE β=4 (2-D),β-VAE β=8 (2-D),MS-VAE (2-D),VAE (16-D)"
ALL = ("ae", "dae", "vae", "vae-beta0.5", "vae-beta2", "vae-beta4", "vae-beta8", "msvae", "vae-16d", "gan",
       "wgan-gp")
WINDOW_SHOT = "docs/figures/compare-window-beta-ladder-4-9.png"
WINDOW_SIZE = (1366, 768)


def files(keys: tuple[str, ...]) -> list[str]:
    return [f"{P}/{k}.safetensors" for k in keys]


@dataclass
class Block:
    name: str  # the README marker
    argv: list[str]  # after `latentlab interpolate`
    extra_files: tuple[list[str], ...] = ()  # more runs of the same path (another --out), not shown

    def command(self) -> str:
        """The command as the README shows it: the checkpoints in bash's brace form (the
        same files, in the same order), one option per line."""
        keys = [a.removeprefix(f"{P}/").removesuffix(".safetensors") for a in self.argv if a.startswith(f"{P}/")]
        options = self.argv[len(keys):]
        pairs = [" ".join(shlex.quote(a) for a in options[i : i + 2]) for i in range(0, len(options), 2)]
        own_line = [p for p in pairs if p.startswith("--names")]
        rest = " ".join(p for p in pairs if p not in own_line)
        lines = [f"latentlab interpolate {P}/{{{','.join(keys)}}}.safetensors", *own_line, rest]
        return " \\\n  ".join(line for line in lines if line)


BLOCKS = (
    Block("compare-3-5", [*files(SIX), "--names", SIX_NAMES, "--from", "3", "--to", "5",
                          "--out", "docs/figures/compare-3-5.png"]),
    Block("beta-ladder-4-9", [*files(LADDER), "--names", LADDER_NAMES, "--from", "4", "--to", "9",
                              "--out", "docs/figures/beta-ladder-4-9.png"],
          extra_files=([*files(LADDER), "--names", LADDER_NAMES, "--from", "4", "--to", "9",
                        "--out", "docs/figures/beta-ladder-4-9.gif", "--scale", "2"],)),
    Block("pairs", [*files(ALL), "--pairs", "standard"]),
)


def interpolate(argv: list[str]) -> str:
    """Run the CLI as a user would (a fresh process) and return what it printed."""
    done = subprocess.run([sys.executable, "-m", "latentlab", "interpolate", *argv], cwd=ROOT, text=True,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise SystemExit(f"latentlab interpolate failed:\n{done.stderr}")
    return done.stdout


def table_of(output: str) -> str:
    """The table from its header line on, without the files it says it saved."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("model"))
    return "\n".join(line.rstrip() for line in lines[start:] if not line.startswith("saved "))


def block_text(block: Block, output: str) -> str:
    return f"```bash\n{block.command()}\n```\n\n```\n{table_of(output)}\n```"


def replace_block(readme: str, name: str, text: str) -> str:
    key = re.escape(name)
    pattern = re.compile(rf"(<!-- path-tables:{key} -->\n)(?:.*?\n)?(<!-- /path-tables:{key} -->)", re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md has no <!-- path-tables:{name} --> block")
    return pattern.sub(lambda m: m.group(1) + text + "\n" + m.group(2), readme)


def window_screenshot(out: Path) -> None:
    """The comparison window on the β ladder, 4 to 9, on a virtual 1366x768 screen."""
    with tempfile.TemporaryDirectory(prefix="latentlab-paths-") as tmp:
        config = Path(tmp) / "screen.json"
        config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": WINDOW_SIZE[0],
                                                   "height": WINDOW_SIZE[1], "logicalDpiX": 96,
                                                   "logicalDpiY": 96}]}))
        code = f"""
import sys, time
from latentlab.ui.main.app import ensure_application
from latentlab.ui.analysis.compare_window import CompareWindow
app = ensure_application()
window = CompareWindow(headless=True)
window.resize(*{WINDOW_SIZE!r})
window.show()
window.load_beta_ladder()
window.class_a.setCurrentIndex(4)
window.class_b.setCurrentIndex(9)
window.compare()
deadline = time.monotonic() + 300
while (window.result is None or window.busy) and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.02)
for _ in range(10):
    app.processEvents()
    time.sleep(0.02)
sys.exit(0 if window.result is not None and window.grab().save({str(out)!r}) else 1)
"""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
        if subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env).returncode != 0:
            raise SystemExit("could not render the comparison window")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    args = parser.parse_args()
    if args.list:
        for block in BLOCKS:
            print(block.command())
        return 0
    readme = README.read_text(encoding="utf-8")
    for block in BLOCKS:
        print(f"$ {block.command()}", flush=True)
        output = interpolate(block.argv)
        print(output)
        for argv in block.extra_files:
            interpolate(argv)
        readme = replace_block(readme, block.name, block_text(block, output))
    README.write_text(readme, encoding="utf-8")
    window_screenshot(ROOT / WINDOW_SHOT)
    print(f"rewrote README.md's path tables; saved {WINDOW_SHOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
