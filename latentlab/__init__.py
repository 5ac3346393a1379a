"""latentlab: a desktop latent-space explorer for autoencoders, VAEs and GANs.

The core (``latentlab.data``, ``latentlab.models``, ``latentlab.training``,
``latentlab.latent``) imports no Qt; ``latentlab.ui`` is the only Qt layer.
"""

__version__ = "0.1.0"
