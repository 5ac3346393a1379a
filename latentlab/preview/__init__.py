"""The first screen without PyTorch: NumPy forward passes of the shipped MLP models.

Importing PyTorch takes ~1.8 s on a 2-core CPU, more than half of the 3 s in which the
window must be explorable (ui/startup.py). The window's first model, the pretrained 2-D
VAE, is a stack of dense layers, and so are the other shipped 2-D autoencoders; the judge
that colours the map is a three-layer CNN. This package runs exactly those networks in
NumPy from their safetensors weights, so the map is painted and decodes live while
PyTorch loads in the background; the window then swaps in the real session (same
weights, same numbers to ~1e-6) without moving the view or the marker.

Nothing here imports torch (an import-linter contract in pyproject.toml checks it).
``open_preview`` refuses, with a reason, any checkpoint that is not one of these
architectures; the window then waits for PyTorch as before.
"""

from latentlab.preview.preview import Preview, PreviewUnavailable, open_preview

__all__ = ["Preview", "PreviewUnavailable", "open_preview"]
