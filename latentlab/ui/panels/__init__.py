"""The panels beside and under the map: decoded view, beta and KL, training, losses."""
