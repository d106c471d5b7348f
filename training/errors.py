"""The one error hierarchy of the training module; ``cli.main`` maps each class to an exit code."""

from __future__ import annotations

# Exit status of a run ended by SIGTERM (128 + 15, as a shell reports it): cli.main turns the signal
# into SystemExit so the run records why it stopped before the process ends.
STOPPED_BY_SIGNAL = 143


class TrainingError(Exception):
    """Something the user can fix; the message says what was wrong and what to do."""

    exit_code = 1


class ConfigError(TrainingError):
    """A bad config file, override or option combination."""

    exit_code = 2


class ReleaseError(TrainingError):
    """A release directory that does not follow docs/release-format.md (refused before any model loads)."""

    exit_code = 3
