"""The latent map room: the plot, its points and overlays, the explorer, projections."""
