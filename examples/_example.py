"""What every example script shares: fast mode and its output folder.

``FOOTDROP_EXAMPLE_FAST=1`` turns an example into a smoke test (PyMC's sampler, 2 chains x
40 draws: no nutpie compilation); it is not an analysis.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

FAST = os.environ.get("FOOTDROP_EXAMPLE_FAST", "") not in ("", "0")
#: Sampler settings of the examples (compiling the model takes most of the time).
SAMPLER = ({"sampler": "pymc", "chains": 2, "draws": 40, "tune": 40, "progressbar": False,
            "on_convergence_failure": "ignore"} if FAST
           else {"chains": 4, "draws": 1000, "tune": 1000, "progressbar": False})


def output_folder(name: str, description: str | None) -> Path:
    """Parse ``--out`` (default ``example_output/<name>``) and create the folder."""
    parser = argparse.ArgumentParser(description=(description or name).splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("example_output") / name,
                        help="folder for the outputs (created if needed)")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    return out
