"""Warnings raised by the classical analyses (both are :class:`DataWarning` subclasses)."""

from __future__ import annotations

from ..errors import DataWarning


class FewEventsWarning(DataWarning):
    """Too few recoveries per estimated coefficient for a reliable regression."""


class SeparationWarning(DataWarning):
    """A factor level with no recoveries or only recoveries (monotone likelihood)."""


class CollinearityWarning(DataWarning):
    """Two factors so strongly associated that their separate effects are unstable."""
