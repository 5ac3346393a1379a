"""Latent-space tools (no Qt): image grids, projections, paths, arithmetic, metrics."""
