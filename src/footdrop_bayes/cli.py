"""The ``footdrop-bayes`` command line: argument parsing and error presentation only."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import warnings
from pathlib import Path

from .errors import ConvergenceError, DataError
from .progress import timed_say

PROG = "footdrop-bayes"
FORMATTER = argparse.ArgumentDefaultsHelpFormatter


def _cohort_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--visits", help="visits table (CSV, Parquet or Excel); with --patients")
    p.add_argument("--patients", help="patients table (one row per patient)")
    p.add_argument("--id-col", default="patient_id", help="patient id column (both tables)")
    p.add_argument("--time-col", default="month", help="visit time column (time since "
                   "referral)")
    p.add_argument("--status-col", default="recovered", help="recovery status column: "
                   "booleans / 0-1, or a grade with --recovered-when")
    p.add_argument("--recovered-when", default=None,
                   help="rule turning a grade into recovery, e.g. '>=4'")
    p.add_argument("--follow-up", type=float, default=None,
                   help="planned end of follow-up (default: last visit time)")
    p.add_argument("--factors", default=None, help="comma-separated categorical columns")
    p.add_argument("--covariates", default=None, help="comma-separated numeric columns")
    p.add_argument("--dropna", action="store_true",
                   help="exclude (and report) patients with missing covariates")
    _time_args(p)
    from .cohort_engines import add_engine_args

    add_engine_args(p)
    _time_varying_args(p)


def _time_varying_args(p: argparse.ArgumentParser) -> None:
    """Time-varying columns of the visits table (issue 10; docs/time_varying.md)."""
    p.add_argument("--time-varying", default=None, help="comma-separated columns of the "
                   "visits table recorded at every visit (e.g. treatment): the value acts "
                   "from its visit to the next; the baseline comes from the patients "
                   "column of the same name")
    p.add_argument("--lag", type=int, default=None, help="delay every change of "
                   "--time-varying by this many visits (default 0)")


def _time_varying_kwargs(args: argparse.Namespace) -> dict:
    names = _split(getattr(args, "time_varying", None))
    lag = getattr(args, "lag", None)
    if lag is not None and not names:
        raise DataError("--lag needs --time-varying")
    if names and getattr(args, "intervals", None):
        raise DataError("--time-varying needs --visits/--patients (values recorded at "
                        "visits), not --intervals")
    return {"time_varying": names, "lag": lag or 0} if names else {}


def _time_args(p: argparse.ArgumentParser) -> None:
    """Dates, time unit, visit windows and interval tables (see docs/cli.md)."""
    p.add_argument("--time-unit", default="month", help="unit of the times: month (30.4375 "
                   "days for dates), week, day or year; numbers are taken to be in it")
    p.add_argument("--origin-col", default=None, help="patients column with each patient's "
                   "time-zero date when --time-col holds dates (default: first visit)")
    p.add_argument("--visit-window", type=float, default=None, help="visits within +/- this "
                   "of a scheduled visit count as it (default: half the visit interval for "
                   "dates, 0 = exact for numbers)")
    p.add_argument("--visit-interval", type=float, default=1.0,
                   help="spacing of the scheduled visits, in --time-unit")
    p.add_argument("--exact-times", action="store_true", help="keep exact visit times "
                   "(irregular grid); the window then applies only at the end of follow-up")
    p.add_argument("--intervals", default=None, help="instead of --visits/--patients: one "
                   "row per patient with a lower and an upper bound (--lower-col, --upper-col)")
    p.add_argument("--lower-col", default=None, help="lower bound column of --intervals")
    p.add_argument("--upper-col", default=None, help="upper bound column of --intervals "
                   "(empty or inf: right-censored at the lower bound)")


def _split(s: str | None) -> list[str] | None:
    return None if s is None else [x.strip() for x in s.split(",") if x.strip()]


def load_cohort(args: argparse.Namespace, say=print):
    """Build a cohort from the command-line arguments."""
    from .cohort import Cohort

    tv = _time_varying_kwargs(args)
    if getattr(args, "intervals", None):
        return load_interval_cohort(args, say)
    if not (args.visits and args.patients):
        raise DataError("give --visits and --patients, or --intervals with --lower-col and "
                        "--upper-col")
    from .cohort_engines import cli_tables

    visits, patients, roles_table, engine_kwargs = cli_tables(args)
    factors, covariates, inferred = _terms(args, roles_table, [args.id_col])
    cohort = Cohort.from_visits(
        visits, patients, id_col=args.id_col, time_col=args.time_col,
        status_col=args.status_col, recovered_when=args.recovered_when,
        follow_up=args.follow_up, factors=factors, covariates=covariates, dropna=args.dropna,
        visits_name=str(args.visits), patients_name=str(args.patients),
        origin_col=args.origin_col, time_unit=args.time_unit,
        visit_window=args.visit_window, visit_interval=args.visit_interval,
        exact_times=args.exact_times, **engine_kwargs, **tv)
    if inferred:
        say(inferred + " (name them with --factors / --covariates)")
    return cohort


def _terms(args, table, exclude):
    """--factors / --covariates, or roles inferred with reasons; the group as a factor."""
    from .covariates import describe_roles, explain_roles

    factors, covariates = _split(args.factors), _split(args.covariates)
    group = getattr(args, "group", None)
    for name, given in (("--factors", factors), ("--covariates", covariates)):
        if group and given and group in given:
            raise DataError(f"column {group!r} is given both as --group and in {name}; a "
                            "column is either a fixed effect or the group, not both")
    inferred = None
    if factors is None and covariates is None and all(c in table.columns for c in exclude):
        roles = explain_roles(table, exclude=[*exclude, *([group] if group else [])])
        factors = roles.index[roles["role"] == "factor"].tolist()
        covariates = roles.index[roles["role"] == "numeric"].tolist()
        inferred = describe_roles(roles)
    if group and factors is not None and group not in factors:
        factors = [*factors, group]
    return factors, covariates, inferred


def load_interval_cohort(args: argparse.Namespace, say=print):
    """Build a cohort from ``--intervals`` (one row per patient, lower and upper bounds)."""
    from .cohort import Cohort
    from .io import read_table

    if args.visits or args.patients:
        raise DataError("give either --intervals or --visits/--patients, not both")
    if not (args.lower_col and args.upper_col):
        raise DataError("--intervals needs --lower-col and --upper-col")
    visit_only = [o for o, val in (("--origin-col", args.origin_col),
                                   ("--visit-window", args.visit_window),
                                   ("--exact-times", args.exact_times)) if val]
    if visit_only:
        raise DataError(f"{', '.join(visit_only)} apply to --visits, not to --intervals")
    from .cohort_engines import cli_interval_table

    source, table, engine_kwargs = cli_interval_table(args, read_table)
    id_col = args.id_col
    if id_col not in table.columns and id_col == "patient_id":
        say(f"{args.intervals}: no column 'patient_id'; patients are numbered by row "
            "(name the id column with --id-col)")
        id_col = None
    bounds = [args.lower_col, args.upper_col]
    factors, covariates, inferred = _terms(args, table.drop(columns=bounds, errors="ignore"),
                                           [id_col] if id_col else [])
    cohort = Cohort.from_intervals(
        source, lower_col=args.lower_col, upper_col=args.upper_col, id_col=id_col,
        factors=factors, covariates=covariates, follow_up=args.follow_up,
        time_unit=args.time_unit, dropna=args.dropna, table=str(args.intervals),
        **engine_kwargs)
    if inferred:
        say(inferred + " (name them with --factors / --covariates)")
    return cohort


def check_out(args: argparse.Namespace) -> None:
    """Refuse a non-empty output folder before any work, unless --overwrite."""
    from .output import check_output_folder

    check_output_folder(args.out, overwrite=args.overwrite)


def cmd_simulate(args: argparse.Namespace, say) -> int:
    from .simulate import simulate_cohort

    out = Path(args.out)
    sim = simulate_cohort(args.patients, random_seed=args.seed, n_clinics=args.clinics,
                          follow_up=args.follow_up, withdrawal_rate=args.withdrawal_rate,
                          missed_visit_rate=args.missed_visit_rate,
                          **({"switching": args.switching} if getattr(args, "switching", None)
                             else {}))
    out.mkdir(parents=True, exist_ok=True)
    sim.visits.to_csv(out / "visits.csv", index=False)
    sim.patients.to_csv(out / "patients.csv", index=False)
    (out / "truth.json").write_text(json.dumps(sim.truth, indent=1))
    say(f"wrote {out / 'visits.csv'}, {out / 'patients.csv'} and {out / 'truth.json'} "
        f"({args.patients} patients, seed {args.seed})")
    return 0


def cmd_describe(args: argparse.Namespace, say) -> int:
    cohort = load_cohort(args, say)
    print(cohort.describe())
    return 0


def cmd_fit(args: argparse.Namespace, say) -> int:
    from .report import run_analysis

    check_out(args)
    cohort = load_cohort(args, say)
    if args.group is None:
        given = [o for o, v in (("--cox-clinic", args.cox_clinic),
                                ("--clinic-curves", args.clinic_curves)) if v]
        if given:
            raise DataError(f"{' and '.join(given)} need(s) --group (the clinic column)")
    run_analysis(cohort, args.out, group=args.group, draws=args.draws, tune=args.tune,
                 chains=args.chains, seed=args.seed,
                 sampler=args.sampler, interval=args.interval, overwrite=args.overwrite,
                 say=say, progressbar=not args.quiet, **model_options(args),
                 group_handling=args.cox_clinic or "strata",
                 clinic_curves=args.clinic_curves, **_withdrawal_kwargs(args),
                 **_smooth_kwargs(args))
    return 0


def cmd_demo(args: argparse.Namespace, say) -> int:
    from .datasets import STUDY_BANDS, STUDY_UNITS, load_study_cohort
    from .report import run_analysis

    check_out(args)
    cohort = load_study_cohort()
    say(f"demo: the bundled synthetic study cohort — {cohort!r}")
    run_analysis(cohort, args.out, bands=STUDY_BANDS, units=STUDY_UNITS, draws=args.draws,
                 tune=args.tune, chains=args.chains, seed=args.seed, sampler=args.sampler,
                 interval=args.interval, overwrite=args.overwrite, say=say,
                 progressbar=not args.quiet, **model_options(args),
                 **_withdrawal_kwargs(args), **_smooth_kwargs(args))
    return 0


def model_options(args: argparse.Namespace) -> dict:
    """Keywords of ``run_analysis`` from ``--target-accept``, ``--parameterization``,
    ``--reference`` and ``--per`` (None when not given)."""
    return {"target_accept": args.target_accept,
            "retry_target_accept": args.retry_target_accept,
            "parameterization": args.parameterization,
            "reference": args.reference, "per": args.per}


def _typed(parse):
    """An argparse type from a parser of :mod:`.options` (ValueError -> usage error)."""
    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            msg = str(exc)
            raise argparse.ArgumentTypeError(msg.split(": ", 1)[1] if msg.startswith("--")
                                             else msg) from None
    convert.__name__ = parse.__name__.removeprefix("parse_")
    return convert


def _model_args(p: argparse.ArgumentParser) -> None:
    from . import options as opt

    p.add_argument("--target-accept", type=_typed(opt.parse_target_accept), default=None,
                   help="NUTS target acceptance rate, e.g. 0.99 (sampler_config"
                   "['target_accept']; default 0.95)")
    p.add_argument("--retry-target-accept",
                   type=_typed(opt.parse_retry_target_accept),
                   default=opt.RETRY_TARGET_ACCEPT,
                   metavar="RATE|off",
                   help="when the draws have divergent transitions, sample once more "
                   "(same seed) at this target acceptance rate and keep that run; off "
                   "(or a rate not above --target-accept): never "
                   "(sampler_config['retry_target_accept'])")
    p.add_argument("--parameterization", type=_typed(opt.parse_parameterization),
                   default=None, metavar="[BLOCK=]CHOICE[,...]",
                   help="centred / non-centred / mixed / auto for every block, or per "
                   "block (a factor, the --group column, 'baseline'), e.g. "
                   "clinic=non-centred; mixed (factors and the group): "
                   "well-pinned levels centred, weak ones non-centred, what auto "
                   "chooses for a block with both (model_config['parameterization']; "
                   "default auto)")
    p.add_argument("--reference", type=_typed(lambda t: opt.parse_assignments(
                       t, "--reference")), default=None, metavar="FACTOR=LEVEL[,...]",
                   help="reference level per factor, e.g. cause=trauma")
    p.add_argument("--per", type=_typed(opt.parse_per), default=None,
                   metavar="COLUMN=N[,...]",
                   help="report numeric covariates' hazard ratios per N units, e.g. age=10")


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return int(text)


def _fit_args(p: argparse.ArgumentParser) -> None:
    from . import options

    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--draws", type=_positive, default=1000, help="posterior draws per chain")
    p.add_argument("--tune", type=_positive, default=1000, help="tuning steps per chain")
    p.add_argument("--chains", type=_positive, default=4, help="MCMC chains")
    p.add_argument("--seed", type=int, default=20240601, help="random seed (same seed, "
                   "same numbers)")
    p.add_argument("--sampler", default="nutpie", choices=["nutpie", "pymc", "numpyro",
                                                            "blackjax"],
                   help="NUTS implementation (numpyro/blackjax need the [jax] extra)")
    p.add_argument("--interval", type=_typed(options.parse_interval), default=0.95,
                   help="mass of every interval reported (default 0.95)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of an earlier run in --out")
    _model_args(p)


def _deltas(text: str) -> list[float]:
    from .summaries.withdrawal import parse_deltas

    try:
        return parse_deltas(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _delta_by(text: str) -> tuple[str, list[str]]:
    factor, sep, levels = text.partition("=")
    if not sep or not factor.strip() or not levels.strip():
        raise argparse.ArgumentTypeError(f"must be FACTOR=LEVEL[,LEVEL...], got {text!r}")
    return factor.strip(), [x.strip() for x in levels.split(",") if x.strip()]


def _withdrawal_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--withdrawal-sensitivity", action="store_true",
                   help="add the delta-adjusted withdrawal sensitivity analysis "
                   "(withdrawal_*.csv, a figure and a report section with tipping points)")
    p.add_argument("--deltas", type=_deltas, default=None,
                   help="its grid of delta (log hazard ratio of recovery after withdrawal), "
                   "e.g. --deltas=-inf,-1,0,1,inf (write '=': the value starts with '-'); "
                   "default -inf,-3,-2,-1,-0.5,0,0.5,1,2,3,inf")
    p.add_argument("--delta-by", type=_delta_by, default=None,
                   help="vary delta only for withdrawn patients at these levels of one "
                   "factor, the others staying at 0 (MAR), e.g. treatment=surgery")


def _withdrawal_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of run_analysis for the withdrawal sensitivity options."""
    on = bool(getattr(args, "withdrawal_sensitivity", False))
    if not on and (getattr(args, "deltas", None) is not None
                   or getattr(args, "delta_by", None) is not None):
        raise DataError("--deltas and --delta-by need --withdrawal-sensitivity")
    if not on:
        return {}
    from .summaries.withdrawal import DEFAULT_DELTAS

    deltas = args.deltas
    if args.delta_by is None:
        return {"withdrawal": True, "deltas": deltas}
    factor, levels = args.delta_by
    grid = list(DEFAULT_DELTAS) if deltas is None else deltas
    return {"withdrawal": True, "deltas": dict.fromkeys(levels, grid),
            "delta_by": factor}


def _smooth_list(text: str) -> list[str]:
    terms = [t.strip() for t in text.split(",") if t.strip()]
    if not terms:
        raise argparse.ArgumentTypeError(f"must be COLUMN[,COLUMN...], got {text!r}")
    return terms


def _smooth_at(text: str) -> tuple[str, list[float]]:
    col, sep, values = text.partition("=")
    try:
        nums = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        nums = []
    if not sep or not col.strip() or len(nums) < 2:
        raise argparse.ArgumentTypeError(f"must be COLUMN=V1,V2[,...] (the first value is "
                                         f"the reference), got {text!r}")
    return col.strip(), nums


def _smooth_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--smooth", type=_smooth_list, default=None, metavar="COLUMN[,...]",
                   help="numeric covariates with smooth (non-linear) effects, e.g. "
                   "age,delay: partial_effects.csv, figures/partial_<column>.*, a report "
                   "section with the LOO comparison against linear")
    p.add_argument("--smooth-at", type=_smooth_at, action="append", default=None,
                   metavar="COLUMN=V1,V2[,...]",
                   help="hazard ratios (each value against the first) and recovery at "
                   "chosen values, e.g. age=30,50,70 (repeat for several columns)")
    p.add_argument("--no-smooth-comparison", action="store_true",
                   help="skip the LOO comparison with linear refits (one refit per term)")
    p.add_argument("--smooth-split", choices=["on", "off"], default=None,
                   help="on (default): each smooth term is its line plus a penalised "
                   "wiggly part, so a linear effect shrinks to its line; off: one "
                   "penalised smooth, slope included (model_config['smooth_split'])")


def _smooth_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of run_analysis for the smooth-term options."""
    smooth = getattr(args, "smooth", None)
    at = getattr(args, "smooth_at", None)
    split = getattr(args, "smooth_split", None)
    if not smooth:
        if at or getattr(args, "no_smooth_comparison", False) or split:
            raise DataError("--smooth-at, --no-smooth-comparison and --smooth-split need "
                            "--smooth")
        return {}
    out = {"smooth": smooth, "smooth_at": dict(at) if at else None,
           "smooth_comparison": not args.no_smooth_comparison}
    if split is not None:
        out["model_config"] = {"smooth_split": split == "on"}
    return out


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``footdrop-bayes``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress messages")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks on errors")
    parser = argparse.ArgumentParser(prog=PROG, parents=[common], description="Bayesian "
                                     "recovery analysis of cohorts followed at visits.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", parents=[common], formatter_class=FORMATTER,
                       help="the whole analysis of the bundled synthetic cohort")
    _fit_args(p)
    _withdrawal_args(p)
    _smooth_args(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("fit", parents=[common], formatter_class=FORMATTER,
                       help="the whole analysis of your visits and patients tables")
    _cohort_args(p)
    _fit_args(p)
    p.add_argument("--group", default=None, help="clinic / centre column (random intercepts)")
    p.add_argument("--cox-clinic", default=None, choices=["strata", "cluster", "ignore"],
                   help="how the Cox model handles the --group clinic: a baseline hazard "
                   "per clinic (strata, the default with --group), cluster-robust "
                   "standard errors by clinic, or not at all")
    p.add_argument("--clinic-curves", action="store_true",
                   help="add the clinics to the model-check figure of recovery curves")
    _withdrawal_args(p)
    _smooth_args(p)
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("simulate", parents=[common], formatter_class=FORMATTER,
                       help="write a simulated cohort with known truth")
    p.add_argument("--patients", type=_positive, default=105, help="number of patients")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--out", required=True, help="folder for visits.csv, patients.csv, "
                   "truth.json")
    p.add_argument("--clinics", type=_positive, default=1, help="number of clinics (random "
                   "clinic effects when > 1)")
    p.add_argument("--follow-up", type=_positive, default=6, help="months of follow-up")
    p.add_argument("--withdrawal-rate", type=float, default=0.1,
                   help="probability of withdrawing before the end of follow-up")
    p.add_argument("--missed-visit-rate", type=float, default=0.05,
                   help="probability of missing each intermediate visit")
    p.add_argument("--switching", default=None, choices=["random", "non-recovery"],
                   help="treatment changing at visits (a treatment column in visits.csv; "
                   "fit with --time-varying treatment): at random, or triggered by "
                   "non-recovery (confounding by indication)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("describe", parents=[common], formatter_class=FORMATTER,
                       help="the cohort summary and Table 1, without fitting")
    _cohort_args(p)
    p.set_defaults(func=cmd_describe)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.quiet = getattr(args, "quiet", False)
    args.debug = getattr(args, "debug", False)

    # every message carries the seconds since the start: stage durations (progress.py)
    timed = timed_say()

    def say(msg: str) -> None:
        if not args.quiet:
            timed(msg)

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{PROG}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        # the C backend's BLAS is irrelevant to the default nutpie (numba) sampler
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS")
        logging.getLogger("pymc").setLevel(logging.WARNING)
        try:
            return args.func(args, say)
        except (DataError, ConvergenceError, FileExistsError) as exc:
            if args.debug:
                raise
            print(f"{PROG}: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt as exc:       # Ctrl-C, or SIGTERM (console)
            if isinstance(exc, Terminated):
                print(f"{PROG}: terminated", file=sys.stderr)
                return 128 + signal.SIGTERM
            print(f"{PROG}: interrupted", file=sys.stderr)
            return 130


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch scheduler's time limit) as an interrupt: the sampler
    is stopped and temporary files and figure processes are cleaned up, as for Ctrl-C."""


_MAIN_PID = [0]


def _terminate(signum, frame):
    if os.getpid() != _MAIN_PID[0]:
        # a forked figure process, before it restored the default (a signal that
        # reached the parent just before the fork is handled in both): end it quietly
        os._exit(128 + signum)
    raise Terminated


def console() -> None:
    """The ``footdrop-bayes`` command: :func:`main`, then exit without module teardown.

    After a fit the interpreter spends 1-2 s tearing down thousands of modules (numba,
    llvmlite, pytensor; measured after ``demo``). Registered first, the exit handler runs
    after every other ``atexit`` handler (they run last-registered first), flushes the
    standard streams and ends the process with the status of :func:`main`: files are
    already closed, and only the teardown is skipped.
    """
    import atexit

    status = [1]                                  # an uncaught exception: 1, as Python

    def _exit_now() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status[0])

    atexit.register(_exit_now)
    _MAIN_PID[0] = os.getpid()
    signal.signal(signal.SIGTERM, _terminate)
    try:
        status[0] = main()
    except SystemExit as exc:                     # argparse: --help (0), usage error (2)
        code = exc.code
        status[0] = code if isinstance(code, int) else (0 if code is None else 1)
        raise
    sys.exit(status[0])


if __name__ == "__main__":
    console()
