"""Render every figure of footdrop_bayes.plots from the bundled cohort into docs/figures/.

Usage::

    python scripts/make_doc_figures.py [--out docs/figures] [--dpi 150] [--draws 500]

Fits the Bayesian model to the bundled synthetic 105-patient cohort (4 chains; a minute or
two), then draws each figure with the same calls the analysis report uses. The PNGs are
shown in docs/figures.md.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

import footdrop_bayes as fb
from footdrop_bayes import classical, plots, summaries

UNITS = {"age": "year", "delay": "month"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs"
                                         / "figures"))
    ap.add_argument("--dpi", type=float, default=150)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)
    out = Path(args.out)
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()

    cohort = fb.datasets.load_study_cohort()
    model = fb.RecoveryModel(cohort, sampler_config={
        "chains": 4, "draws": args.draws, "tune": args.draws, "progressbar": False})
    model.fit(random_seed=args.seed)
    print(f"fitted in {time.perf_counter() - t0:.0f} s: {model.diagnostics()}")

    lr = classical.logrank(cohort)
    kms = {f: classical.kaplan_meier(cohort, by=f) for f in cohort.factors}
    figures = {
        "km_site": plots.plot_kaplan_meier(kms["site"], p_value=lr),
        "km_panels": plots.plot_kaplan_meier_panels(kms, p_values=lr),
        "forest": plots.plot_hazard_ratios(summaries.hazard_ratios(model),
                                           classical.cox(cohort).table, units=UNITS),
        "factor_ranking": plots.plot_factor_ranking(
            summaries.factor_ranking(model),
            summaries.rank_distribution(summaries.importance(model))),
    }
    curves = {f: plots.subgroup_recovery_draws(model, f) for f in cohort.factors}
    figures["posterior_curves_site"] = plots.plot_posterior_recovery(curves["site"],
                                                                     kms["site"])
    figures["posterior_curves"] = plots.plot_posterior_recovery_panels(curves, kms)
    figures["recovery_at_followup"] = plots.plot_recovery_at_followup(
        summaries.recovery_probabilities(model), classical.study_table(cohort))
    figures["prior_predictive"] = plots.plot_prior_predictive(
        model.prior_predictive(500, random_seed=args.seed), classical.kaplan_meier(cohort))
    figures["trace"] = plots.plot_trace(model)
    figures["energy"] = plots.plot_energy(model)

    for stem, fig in figures.items():
        (path,) = plots.save_figure(fig, stem, formats=("png",), dpi=args.dpi, directory=out)
        w, h = fig.get_size_inches()
        print(f"{path}  ({w:.1f} x {h:.1f} in)")
        plt.close(fig)
    print(f"done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
