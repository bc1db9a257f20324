"""Guarded steps of writing an output folder: a late failure never loses a finished fit.

Every figure, table and report section is produced by :func:`attempt`: an exception is
caught, recorded as a :class:`Problems` entry (named in ``report.md``) and raised again as
an :class:`~footdrop_bayes.errors.OutputWarning` (one warning line on the command line),
and the remaining steps go on. Parts that do not apply to the model's mix of terms (no
factors: no level-wise table) are recorded as notes, not failures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import OutputWarning


@dataclass
class Problems:
    """What an output folder lacks, and why.

    Attributes
    ----------
    failures : list of str
        Steps that raised (``"figure 'forest': ValueError: ..."``).
    notes : list of str
        Parts that do not apply to this analysis (``"no factors: no level-wise recovery
        table"``).
    """

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """Record a part that does not apply (once)."""
        if text not in self.notes:
            self.notes.append(text)


def attempt(what: str, step: Callable, problems: Problems | None):
    """Run ``step()``; on an exception record it in ``problems``, warn, return None.

    With ``problems=None`` exceptions propagate (direct calls keep their errors).
    """
    if problems is None:
        return step()
    try:
        return step()
    except Exception as exc:     # any failure of one part is contained
        msg = f"{what} could not be produced ({type(exc).__name__}: {exc})"
        problems.failures.append(msg)
        warnings.warn(msg + "; everything else was written", OutputWarning, stacklevel=2)
        return None


def problems_md(problems: Problems | None) -> str:
    """Report sections naming what does not apply and what failed (empty if neither)."""
    if problems is None or not (problems.notes or problems.failures):
        return ""
    out = []
    if problems.notes:
        out += ["## Not applicable to this analysis", "",
                "The model's terms decide which tables and figures exist:", ""]
        out += [f"- {n}" for n in problems.notes] + [""]
    if problems.failures:
        out += ["## Parts that could not be produced", "",
                "These parts failed; everything else in this folder (posterior, "
                "diagnostics, tables, other figures) was written:", ""]
        out += [f"- {f}" for f in problems.failures] + [""]
    return "\n".join(out)
