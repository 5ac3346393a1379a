"""How long the judge of a new dataset takes to train, as `latentlab train` does it: prints figures.

    python benchmarks/judge_time.py                         # fashion-mnist (60,000 images)
    python benchmarks/judge_time.py --dataset mnist-5k      # the bundled set
    python benchmarks/judge_time.py --threads 2             # instead of the CLI's (all cores but one)

The judge is trained from scratch into a temporary cache (a shipped or cached judge is
never used), with the command line's progress bar and thread count. Printed: wall time,
this process's CPU time, the load average before and after, and the test accuracy on the
whole test split. The goal for a 60,000-image set: under 5 minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores but one)")
    args = parser.parse_args()

    import torch

    from latentlab.cli.progress import ProgressBar
    from latentlab.data import load_dataset
    from latentlab.training.judges import get_judge, judge_plan

    torch.set_num_threads(args.threads or max(1, min(torch.get_num_threads(), (os.cpu_count() or 1) - 1)))
    dataset = load_dataset(args.dataset)
    epochs, images = judge_plan(len(dataset.train), dataset.image_shape)
    print(f"{args.dataset}: {len(dataset.train):,} training images; the judge trains {epochs} epochs on {images:,} "
          f"of them; torch threads {torch.get_num_threads()} of {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="latentlab-judge-") as cache:
        os.environ["LATENTLAB_CACHE"] = cache
        logged: list[str] = []
        started, cpu = time.perf_counter(), time.process_time()
        get_judge(dataset, "cpu", log=logged.append, callbacks=[ProgressBar("judge")])
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(file=sys.stderr)
    print(f"wall {wall:.0f} s ({wall / 60:.1f} min) [goal < 5 min: {'met' if wall < 300 else 'MISSED'}], "
          f"process CPU {cpu:.0f} s, load average now {os.getloadavg()[0]:.1f}")
    print(logged[-1] if logged else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
