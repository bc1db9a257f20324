"""Tables for a paper: CSV (full precision), Markdown and LaTeX (booktabs).

The CSV keeps every number as computed, so reading it back gives the same table
(:func:`read_table`). Markdown and LaTeX are formatted for reading: hazard ratios to two
decimals with their interval in one cell, probabilities as percentages, and the interval
level stated in the column header ("HR (95% CrI)").

Columns are recognised by name (the tables of :mod:`footdrop_bayes.summaries` and the
Cox table ``term, level, reference, hr, hr_low, hr_high, p_value``); any other numeric
column is printed with three significant digits. A boolean ``estimable`` column (the Cox
table as written to the output folder) replaces the hazard ratio of rows marked False by
"not estimable" and leaves their p-value empty. Missing values are empty cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

STRING_COLUMNS = ("term", "level", "reference", "text", "factor", "characteristic",
                  "verdict")

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"$<$", ">": r"$>$", "–": "--", "—": "---", "≥": r"$\geq$", "≤": r"$\leq$",
    "±": r"$\pm$",
}


def _pct(x: float, digits: int = 1) -> str:
    return "" if pd.isna(x) else f"{100 * x:.{digits}f}"


def _num(x: float, digits: int = 2) -> str:
    return "" if pd.isna(x) else f"{x:.{digits}f}"


#: an interval that cannot be estimated, e.g. Kaplan–Meier at 100 % (classical.km)
CI_NOT_ESTIMABLE = "CI not estimable"


def _with_interval(mid, low, high, fmt) -> list[str]:
    out = []
    for m, lo, hi in zip(mid, low, high, strict=True):
        if pd.isna(m) and pd.isna(lo) and pd.isna(hi):
            out.append("")
            continue
        if pd.isna(lo) and pd.isna(hi):     # e.g. Kaplan–Meier at 100 % (classical.km)
            out.append(f"{fmt(m)} ({CI_NOT_ESTIMABLE})")
            continue
        out.append(f"{fmt(m) or '–'} ({fmt(lo) or '–'} to {fmt(hi) or 'not reached'})")
    return out


def _pvalue(p: float) -> str:
    if pd.isna(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _level_label(interval: float | None, kind: str = "CrI") -> str:
    return f"{100 * interval:g}% {kind}" if interval is not None else kind


def format_table(df: pd.DataFrame, *, interval: float | None = None) -> pd.DataFrame:
    """A copy of a summary table with every cell formatted as text for a paper.

    Parameters
    ----------
    df : DataFrame
        A table from :mod:`footdrop_bayes.summaries` (or the Cox table).
    interval : float, optional
        Interval mass stated in the headers; default ``df.attrs["interval"]``.

    Returns
    -------
    DataFrame
        String cells; estimates with their interval combined into one column.
    """
    interval = df.attrs.get("interval") if interval is None else interval
    cri, ci = _level_label(interval, "CrI"), _level_label(interval, "CI")
    cols = set(df.columns)
    is_time = "p_reached" in cols
    out: dict[str, list[str]] = {}
    done: set[str] = set()

    def take(*names):
        done.update(names)
        return [df[n].to_numpy() for n in names]

    for c in df.columns:
        if c in done:
            continue
        if c in STRING_COLUMNS and not (c == "text" and is_time):
            out[c.capitalize()] = ["" if pd.isna(v) else str(v) for v in take(c)[0]]
        elif c == "time":
            out["Time"] = [f"{v:g}" for v in take(c)[0]]
        elif c == "n":
            out["n"] = [str(int(v)) for v in take(c)[0]]
        elif c.startswith("importance_") and {"importance_median", "importance_low",
                                              "importance_high"} <= cols:
            out[f"Importance ({cri})"] = _with_interval(
                *take("importance_median", "importance_low", "importance_high"), _num)
        elif c == "p_rank1":
            out["P(rank 1), %"] = [_pct(v) for v in take(c)[0]]
        elif c == "expected_rank":
            out["Expected rank"] = [_num(v, 2) for v in take(c)[0]]
        elif c.startswith("hr_") and {"hr_median", "hr_low", "hr_high"} <= cols:
            out[f"HR ({cri})"] = _with_interval(*take("hr_median", "hr_low", "hr_high"), _num)
        elif c in ("hr", "hr_low", "hr_high") and {"hr", "hr_low", "hr_high"} <= cols:
            out[f"HR ({ci})"] = _with_interval(*take("hr", "hr_low", "hr_high"), _num)
        elif c == "p_direction":
            out["P(HR > 1), %"] = [_pct(v) for v in take(c)[0]]
        elif c == "p_value":
            out["p"] = [_pvalue(v) for v in take(c)[0]]
        elif c in ("median", "low", "high") and is_time:
            header = f"Median time to recovery ({cri})"
            if "text" in cols:
                out[header] = [str(t) for t in take("text")[0]]
            else:
                out[header] = _with_interval(*take("median", "low", "high"),
                                             lambda x: _num(x, 1))
            done.update(("median", "low", "high"))
        elif c in ("median", "low", "high") and {"median", "low", "high"} <= cols:
            out[f"Recovered, % ({cri})"] = _with_interval(
                *take("median", "low", "high"), _pct)
        elif c.startswith("km") and {"km", "km_low", "km_high"} <= cols:
            out[f"Observed (Kaplan–Meier), % ({ci})"] = _with_interval(
                *take("km", "km_low", "km_high"), _pct)
        elif c.startswith("diff_") and {"diff_median", "diff_low", "diff_high"} <= cols:
            out[f"Difference, percentage points ({cri})"] = _with_interval(
                *take("diff_median", "diff_low", "diff_high"), _pct)
        elif c == "p_positive":
            out["P(difference > 0), %"] = [_pct(v) for v in take(c)[0]]
        elif c.startswith("sd_") and {"sd_median", "sd_low", "sd_high"} <= cols:
            out[f"SD of log hazard ({cri})"] = _with_interval(
                *take("sd_median", "sd_low", "sd_high"), _num)
        elif c.startswith("mhr_") and {"mhr_median", "mhr_low", "mhr_high"} <= cols:
            out[f"Median hazard ratio ({cri})"] = _with_interval(
                *take("mhr_median", "mhr_low", "mhr_high"), _num)
        elif c == "n_clinics":
            out["Groups"] = [str(int(v)) for v in take(c)[0]]
        elif c in ("p_above", "p_below"):
            out[f"P({c[2:]} average), %"] = [_pct(v) for v in take(c)[0]]
        elif c in ("n_patients", "n_events"):
            out["Patients" if c == "n_patients" else "Recoveries"] = [
                "" if pd.isna(v) else str(int(v)) for v in take(c)[0]]
        elif c == "estimable":
            take(c)                      # applied below: "not estimable" instead of numbers
        elif c == "p_reached":
            out["P(median reached), %"] = [_pct(v) for v in take(c)[0]]
        elif pd.api.types.is_numeric_dtype(df[c]):
            out[c] = ["" if pd.isna(v) else f"{v:.3g}" for v in take(c)[0]]
        else:
            out[c] = ["" if pd.isna(v) else str(v) for v in take(c)[0]]
    table = pd.DataFrame(out, index=range(len(df)))
    if "estimable" in cols:
        bad = ~df["estimable"].astype(bool).to_numpy()
        for col in table.columns:
            if col.startswith("HR (") or col == "p":
                table.loc[bad, col] = "not estimable" if col.startswith("HR (") else ""
    return table


def to_markdown(table: pd.DataFrame) -> str:
    """A pipe-table (GitHub Markdown) of a string table; ``|`` in cells is escaped."""
    def cell(x):
        return str(x).replace("|", r"\|")
    head = "| " + " | ".join(cell(c) for c in table.columns) + " |"
    align = "| " + " | ".join(
        "---" if c.lower() in STRING_COLUMNS else "---:" for c in table.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in table.itertuples(index=False)]
    return "\n".join([head, align, *body]) + "\n"


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``& % $ # _ { } ~ ^ \\ < >``) in text."""
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_latex(table: pd.DataFrame, *, caption: str | None = None,
             label: str | None = None) -> str:
    """A booktabs ``tabular`` (inside a ``table`` float when a caption is given).

    Needs ``\\usepackage{booktabs}`` in the preamble. Every cell is escaped.
    """
    spec = "".join("l" if c.lower() in STRING_COLUMNS else "r" for c in table.columns)
    lines = [rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(latex_escape(v) for v in row) + r" \\"
              for row in table.itertuples(index=False)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption is None and label is None:
        return "\n".join(lines) + "\n"
    head = [r"\begin{table}[htbp]", r"\centering"]
    if caption is not None:
        head.append(rf"\caption{{{latex_escape(caption)}}}")
    if label is not None:
        head.append(rf"\label{{{label}}}")
    return "\n".join([*head, *lines, r"\end{table}"]) + "\n"


def export_table(df: pd.DataFrame, path_stem, formats: Sequence[str] = ("csv", "md", "tex"),
                 *, interval: float | None = None, caption: str | None = None,
                 label: str | None = None) -> dict[str, Path]:
    """Write a summary table as CSV (full precision), Markdown and/or LaTeX.

    Parameters
    ----------
    df : DataFrame
        A summary table.
    path_stem : str or Path
        Output path without extension (``out/hazard_ratios`` gives ``hazard_ratios.csv``,
        ``.md``, ``.tex``); its folder is created.
    formats : sequence of {"csv", "md", "tex"}
        Formats to write.
    interval : float, optional
        Interval mass stated in the headers; default ``df.attrs["interval"]``.
    caption, label : str, optional
        LaTeX caption and label (a ``table`` float is written when given); the caption
        is also written above the Markdown table.

    Returns
    -------
    dict
        Format -> path written.
    """
    unknown = set(formats) - {"csv", "md", "tex"}
    if unknown:
        raise ValueError(f"unknown format(s) {sorted(unknown)}; use 'csv', 'md', 'tex'")
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = {}
    if "csv" in formats:
        p = stem.with_name(stem.name + ".csv")
        df.to_csv(p, index=False)
        written["csv"] = p
    if {"md", "tex"} & set(formats):
        table = format_table(df, interval=interval)
    if "md" in formats:
        p = stem.with_name(stem.name + ".md")
        text = to_markdown(table)
        p.write_text((f"{caption}\n\n" if caption else "") + text, encoding="utf-8")
        written["md"] = p
    if "tex" in formats:
        p = stem.with_name(stem.name + ".tex")
        p.write_text(to_latex(table, caption=caption, label=label), encoding="utf-8")
        written["tex"] = p
    return written


def read_table(path) -> pd.DataFrame:
    """Read a CSV written by :func:`export_table` back with the same types.

    Label columns (``term, level, reference, text``) are read as text, so levels such as
    ``"NA"`` or ``"1"`` stay strings; empty cells are NaN.
    """
    head = pd.read_csv(path, nrows=0)
    dtype = {c: str for c in head.columns if c in STRING_COLUMNS}
    return pd.read_csv(path, dtype=dtype, keep_default_na=False,
                       na_values={c: [""] for c in head.columns})
