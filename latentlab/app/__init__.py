"""The application layer: what the window has open and the work it runs, without Qt."""
