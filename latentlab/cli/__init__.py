"""The ``latentlab`` command: the window by default, subcommands for headless work.

    latentlab [CKPT] [--screenshot out.png]      open the explorer window
    latentlab train --model vae --epochs 30 ...  train on a dataset, save a checkpoint
    latentlab info CKPT [--json]                 what a checkpoint holds and how good it is
    latentlab sample CKPT --n 64 --out grid.png  a grid of generated images
    latentlab encode CKPT --out latents.csv      latents and labels as CSV
    latentlab interpolate CKPT [CKPT ...] --from 3 --to 8 --out strip.png
                                                 decoded paths and their metrics
    latentlab fit-prior CKPT --kind flow|gmm     a latent prior; the sampling sources compared
    latentlab debias --target 8 --keep 0.1       the latent-density debiasing demo

Errors in the user's input print one line and exit with status 2; nothing prints a
traceback unless it is a bug. Text that comes from a file goes through
``safe_text.clean`` before it reaches the terminal.
"""

from latentlab.cli.commands import main

__all__ = ["main"]
