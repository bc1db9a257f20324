"""Where nutpie's numba compilation of a RecoveryModel goes, phase by phase (CPU seconds).

Run:  python benchmarks/profile_compile.py [--freeze]
      PYTENSOR_FLAGS=base_compiledir=/tmp/empty python benchmarks/profile_compile.py
      (the second form: a cold pytensor disk cache, as on a user's first fit)

Builds the bundled cohort's default model and times, in CPU seconds of this process
(less sensitive to other jobs on the machine than wall time):
``nutpie.compile_pymc._make_functions`` (graph rewriting, gradient, pytensor's numba code
generation and disk-cache load) and each ``numba.cfunc`` (nutpie's logp and expand
wrappers, which compile and link pytensor's functions), as the package compiles
(``var_names=[]``: the expand wrapper is the identity) or with ``--all-vars`` as before
the third round (every derived variable through the wrapper). ``--freeze`` compiles with
nutpie's ``freeze_model=True`` (data as constants: no ``with_data`` reuse). Timings are
not tests: record them in docs/performance.md with the machine and load.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--freeze", action="store_true", help="nutpie freeze_model=True")
    ap.add_argument("--all-vars", action="store_true",
                    help="store every derived variable through nutpie's expand wrapper "
                         "(before the third round) instead of var_names=[]")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    t = time.process_time()
    import numba
    import nutpie
    import nutpie.compile_pymc as ncp

    from footdrop_bayes.datasets import load_study_cohort
    from footdrop_bayes.model.recovery_model import RecoveryModel

    print(f"imports {time.process_time() - t:.1f} s")
    rm = RecoveryModel(load_study_cohort(), sampler_config={"nutpie_backend": "numba"})
    model = rm.model
    make_functions, cfunc = ncp._make_functions, numba.cfunc

    def timed_make_functions(*a, **k):
        t0 = time.process_time()
        out = make_functions(*a, **k)
        print(f"  _make_functions {time.process_time() - t0:.1f} s")
        return out

    def timed_cfunc(*a, **k):
        decorate = cfunc(*a, **k)

        def wrap(f):
            t0 = time.process_time()
            out = decorate(f)
            print(f"  numba.cfunc({f.__name__}) {time.process_time() - t0:.1f} s")
            return out
        return wrap

    ncp._make_functions, numba.cfunc = timed_make_functions, timed_cfunc
    t0 = time.process_time()
    from footdrop_bayes.model.expand import SAMPLER_VAR_NAMES, expand_posterior

    var_names = None if args.all_vars else SAMPLER_VAR_NAMES
    compiled = nutpie.compile_pymc_model(model, backend="numba", freeze_model=args.freeze,
                                         var_names=var_names)
    print(f"compile {time.process_time() - t0:.1f} s CPU (freeze_model={args.freeze}, "
          f"all_vars={args.all_vars}, load {os.getloadavg()[0]:.1f})")
    if not args.all_vars:         # what the derived variables cost after sampling instead
        idata = nutpie.sample(compiled, draws=1000, tune=200, chains=4, seed=1,
                              progress_bar=False)
        t0 = time.process_time()
        expand_posterior(idata.posterior, model)
        print(f"expand_posterior (4 x 1000 draws) {time.process_time() - t0:.1f} s CPU")


if __name__ == "__main__":
    main()
