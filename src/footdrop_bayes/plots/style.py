"""One journal style for every figure: sizes, fonts, a colour-blind-safe palette, saving.

- :data:`JOURNAL_RC`: the rcParams of the journal style (sans-serif 7–8 pt, thin spines,
  no top/right spines, no legend frame, TrueType fonts embedded in PDF, text kept as text
  in SVG);
- :func:`journal_style`: the style as a context manager (``with journal_style(): ...``),
  switchable globally with :func:`use_journal_style` or per call with ``style=``;
- :data:`OKABE_ITO` and :func:`level_colors`: the Okabe–Ito palette; a factor's levels get
  colours by their position (reference level first, always black), so a level has the same
  colour in every figure;
- :data:`WIDTHS`: single-column (3.5 in) and double-column (7.2 in) figure widths;
- :func:`save_figure`: PNG (300 dpi) and vector PDF (SVG on request) at the figure's size.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

#: Okabe & Ito (2008) colour-blind-safe palette, yellow last (weak on white paper).
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
    "yellow": "#F0E442",
}
PALETTE = list(OKABE_ITO.values())

#: Colours of the methods compared side by side in a figure.
METHOD_COLORS = {"bayes": OKABE_ITO["blue"], "cox": OKABE_ITO["vermillion"],
                 "km": OKABE_ITO["black"], "study": "#7F7F7F", "prior": OKABE_ITO["blue"]}

#: Figure widths in inches: single column (3.5 in ≈ 89 mm), double column (7.2 in ≈ 183 mm).
WIDTHS = {"single": 3.5, "onehalf": 5.5, "double": 7.2}

#: rcParams of the journal style.
JOURNAL_RC = {
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
    "font.size": 7.5,
    "axes.titlesize": 8,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 7.5,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7.5,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "legend.borderaxespad": 0.3,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.axisbelow": True,
    "axes.grid": False,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "xtick.major.size": 3,
    "ytick.major.size": 3,
    "xtick.minor.size": 1.8,
    "ytick.minor.size": 1.8,
    "lines.linewidth": 1.2,
    "lines.markersize": 4,
    "patch.linewidth": 0.6,
    "errorbar.capsize": 0,
    "figure.dpi": 100,
    "figure.figsize": (WIDTHS["single"], 2.6),
    "figure.constrained_layout.h_pad": 0.03,
    "figure.constrained_layout.w_pad": 0.03,
    "savefig.dpi": 300,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "image.cmap": "Blues",
}

#: rcParams of the journal style that act when a figure is written, not when it is drawn
#: (how fonts are embedded): :func:`save_figure` applies them, since a plot function's
#: style context has ended by the time its figure is saved (without this, every PDF of
#: the report embedded Type 3 fonts, which journals' PDF checks reject).
SAVE_RC = ("pdf.fonttype", "ps.fonttype", "svg.fonttype")

_STATE = {"enabled": True}


def use_journal_style(enabled: bool = True) -> None:
    """Switch the journal style on (default) or off for every figure drawn afterwards.

    With the style off, figures use the current matplotlib rcParams (e.g. a style the user
    set with ``plt.style.use``); ``style=`` on a single call overrides this setting.
    """
    _STATE["enabled"] = bool(enabled)


@contextlib.contextmanager
def journal_style(style: bool | Mapping | None = None):
    """Context manager applying the journal style.

    Parameters
    ----------
    style : bool, mapping or None
        ``None``: the global setting (:func:`use_journal_style`, on by default); ``True``:
        the journal style; ``False``: leave rcParams alone; a mapping: the journal style
        updated with these rcParams (e.g. ``{"font.size": 9}``).
    """
    rc = _style_rc(style)
    if rc is None:
        yield
        return
    with mpl.rc_context(rc):
        yield


def _style_rc(style) -> dict | None:
    """The rcParams ``style`` stands for (see :func:`journal_style`); None when off."""
    if style is None:
        style = _STATE["enabled"]
    if style is False:
        return None
    rc = dict(JOURNAL_RC)
    if isinstance(style, Mapping):
        rc.update(style)
    return rc


def styled(func):
    """Decorator: run a plot function inside :func:`journal_style` (keyword ``style=``)."""

    @functools.wraps(func)
    def wrapper(*args, style: bool | Mapping | None = None, **kwargs):
        with journal_style(style):
            return func(*args, **kwargs)

    return wrapper


def figure_width(width: str | float) -> float:
    """Width in inches from ``"single"``, ``"onehalf"``, ``"double"`` or a number."""
    if isinstance(width, str):
        if width not in WIDTHS:
            raise ValueError(f"width must be one of {sorted(WIDTHS)} or inches, got {width!r}")
        return WIDTHS[width]
    return float(width)


def new_figure(width: str | float = "single", height: float | None = None, **kwargs):
    """A new figure of the given column width (constrained layout); returns the Figure."""
    w = figure_width(width)
    h = 0.75 * w if height is None else float(height)
    kwargs.setdefault("layout", "constrained")
    return plt.figure(figsize=(w, h), **kwargs)


def level_colors(levels: Iterable, colors: Mapping | Sequence | None = None) -> dict:
    """Colour of each level: by position (reference first) in the Okabe–Ito palette.

    Parameters
    ----------
    levels : iterable
        The factor's levels in the cohort's order (reference first).
    colors : mapping or sequence, optional
        User colours: a mapping level -> colour (missing levels fall back to the palette)
        or a sequence used in level order.
    """
    levels = [str(lv) for lv in levels]
    if colors is None:
        colors = {}
    elif not isinstance(colors, Mapping):
        colors = dict(zip(levels, colors, strict=False))
    colors = {str(k): v for k, v in colors.items()}
    return {lv: colors.get(lv, PALETTE[i % len(PALETTE)]) for i, lv in enumerate(levels)}


def label(name: str) -> str:
    """A column name as a reader's label: underscores become spaces, first letter capital."""
    s = str(name).replace("_", " ")
    return s[:1].upper() + s[1:]


def format_p(p: float) -> str:
    """A p-value as printed in journals: ``p = 0.034``, ``p = 0.41``, ``p < 0.001``.

    Three decimals below 0.1 (so values near 0.05 are never rounded across it).
    """
    if p != p:  # NaN
        return "p = NA"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.1:
        return f"p = {p:.3f}"
    return f"p = {p:.2f}"


def save_figure(fig, stem: str | Path, formats: Sequence[str] = ("png", "pdf"),
                dpi: float = 300, *, directory: str | Path | None = None,
                style: bool | Mapping | None = None) -> list[Path]:
    """Write a figure as ``<stem>.<format>`` for each format, at the figure's size.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (e.g. returned by any ``plot_*`` function).
    stem : str or Path
        File name without extension, e.g. ``"km_site"`` or ``OUT / "figures" / "km_site"``.
    formats : sequence of {"png", "pdf", "svg", ...}
        Formats to write; PDF and SVG are vector (text kept as text).
    dpi : float
        Resolution of raster formats (PNG: width = figure width in inches x dpi pixels).
    directory : str or Path, optional
        Directory prefixed to ``stem`` (e.g. ``OUT / "figures"``); created if missing.
    style : bool or mapping, optional
        The journal style's font embedding (:data:`SAVE_RC`: TrueType, Type 42, in PDF
        and PostScript; text as text in SVG), as in :func:`journal_style`: ``None``, the
        global setting (on by default); ``False``: the current rcParams.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``.
    """
    if isinstance(formats, str):
        formats = [formats]
    base = Path(stem) if directory is None else Path(directory) / stem
    base.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with _saving_style(style), _layout_once(fig):
        for fmt in formats:
            fmt = fmt.lower().lstrip(".")
            path = base.with_name(f"{base.name}.{fmt}")
            # PNG: zlib level 1 (lossless like the default 6; 20 % faster, 20 % larger)
            extra = {"pil_kwargs": {"compress_level": 1}} if fmt == "png" else {}
            fig.savefig(path, format=fmt, dpi=dpi, metadata=_metadata(fmt), **extra)
            paths.append(path)
    return paths


@contextlib.contextmanager
def _saving_style(style):
    """The :data:`SAVE_RC` part of :func:`journal_style`."""
    rc = _style_rc(style)
    if rc is None:
        yield
        return
    with mpl.rc_context({k: rc[k] for k in SAVE_RC}):
        yield


@contextlib.contextmanager
def _layout_once(fig):
    """Lay the figure out once for all the formats it is saved in.

    With a layout engine (constrained layout), every ``savefig`` runs the layout and a
    dry-run draw before the real draw: on the report's panel figures that was half of
    the saving time, twice per figure (PNG and PDF). Here the layout runs once, the
    engine is detached while the files are written (the positions stay as computed) and
    put back afterwards, so the figure behaves as before for the caller.
    """
    engine = fig.get_layout_engine()
    if engine is None or not fig.axes:
        yield
        return
    engine.execute(fig)
    with mpl.rc_context({"figure.autolayout": False,
                         "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)         # None: no engine (rcParams off above)
    try:
        yield
    finally:
        fig.set_layout_engine(engine)


def _metadata(fmt: str) -> dict | None:
    # fixed metadata: no creation date, so re-rendered figures are byte-stable
    if fmt == "pdf":
        return {"Creator": "footdrop_bayes", "Producer": None, "CreationDate": None}
    if fmt == "svg":
        return {"Date": None}
    if fmt == "png":
        return {"Software": "footdrop_bayes"}
    return None
