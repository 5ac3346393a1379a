"""Errors the core raises for bad input. Each message names the problem and the fix.

The CLI prints them as one line and exits non-zero; the window shows them in a dialog
and keeps running. Anything else escaping the core is a bug.
"""


class LatentLabError(Exception):
    """Base class for every error that is the user's input, not our bug."""


class DatasetError(LatentLabError):
    """A dataset cannot be loaded: unknown name, offline download, wrong folder."""


class CheckpointError(LatentLabError):
    """A checkpoint cannot be read or written: corrupt, foreign, pickled, newer."""


class ConfigError(LatentLabError):
    """A model or training setting is invalid."""


class TrainingError(LatentLabError):
    """Training had to stop: NaN or infinite loss, or similar."""


class UsageError(LatentLabError):
    """The command line is wrong: an unknown command or file, an option out of range."""


class OutputError(LatentLabError):
    """A result file (checkpoint, picture, CSV) cannot be written: disk full, read-only, not a folder."""
