"""Build the UMAP layouts shipped in resources/umap, so the shipped models' UMAP map needs no fit.

    python scripts/build_umap_layouts.py          # every shipped model with more than 2 latent dimensions
    python scripts/build_umap_layouts.py --check  # say whether the shipped files match, change nothing

For each checkpoint in resources/pretrained whose latent has more than two dimensions
(today: vae-16d), the latents the window maps (the test split's posterior means, as
``Session.map_points`` computes them) are laid out by the UMAP worker's own fit with the
window's parameters, and stored as ``resources/umap/<key hash>.npz`` with those latents,
``n_neighbors`` and ``seed``: the name is the runtime cache's key
(``latentlab.latent.umap_service.key_hash``), and the stored latents let
``shipped_layout`` recognise them when another machine encodes them to slightly other
floats. Files of models that no longer ship are removed. Rebuild after a checkpoint in
resources/pretrained changes (``--check`` says so).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_NEIGHBORS = 15
SEED = 0


def shipped_latents() -> dict[str, "object"]:
    """name -> the latents the window maps, for shipped models with a latent of more than 2-D."""
    from latentlab.locations import resources_dir
    from latentlab.models.checkpoint import read_checkpoint_meta
    from latentlab.app.session import Session

    found = {}
    for path in sorted((resources_dir() / "pretrained").glob("*.safetensors")):
        model = read_checkpoint_meta(path)["model"]
        if model["family"] == "judge" or int(model["latent_dim"]) <= 2:
            continue
        session = Session.open(path)
        if session.model.has_encoder:
            found[path.stem] = session.map_points().latents
    return found


def main() -> int:
    import numpy as np

    from latentlab.latent.umap_service import key_hash, shipped_layout
    from latentlab.latent.umap_worker import fit_embedding, import_umap
    from latentlab.locations import resources_dir

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report whether the shipped layouts match; write nothing")
    args = parser.parse_args()
    folder = resources_dir() / "umap"
    wanted = {}
    stale = False
    for name, latents in shipped_latents().items():
        digest = key_hash(latents, n_neighbors=N_NEIGHBORS, seed=SEED)
        wanted[digest] = name
        if args.check:
            ok = shipped_layout(latents, n_neighbors=N_NEIGHBORS, seed=SEED) is not None
            stale |= not ok
            print(f"{name}: {len(latents)} x {latents.shape[1]} latents, {'found' if ok else 'MISSING'}")
            continue
        if (folder / f"{digest}.npz").is_file():
            print(f"{name}: up to date ({digest}.npz)")
            continue
        started = time.perf_counter()
        embedding = fit_embedding(import_umap(), latents, N_NEIGHBORS, SEED, lambda fraction, message: None)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / f"{digest}.npz", embedding=embedding, latents=latents,
                            n_neighbors=np.int64(N_NEIGHBORS), seed=np.int64(SEED))
        print(f"{name}: {len(latents)} points laid out in {time.perf_counter() - started:.1f} s -> {digest}.npz")
    for old in folder.glob("*.npz") if folder.is_dir() else []:
        if old.stem not in wanted:
            stale = True
            print(f"{old.name}: no shipped model has these latents" + ("" if args.check else "; removed"))
            if not args.check:
                old.unlink()
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
