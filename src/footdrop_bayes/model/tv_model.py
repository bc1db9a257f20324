r"""``RecoveryModel`` with time-varying categorical terms (e.g. the current treatment).

.. math::

    \eta_{ij} = \eta_i + \sum_v \gamma_v[\text{level}_v(i, j)], \qquad
    \ell_i = -\sum_{j \le l_i} \Delta_{ij}
        + d_i \log\bigl(1 - e^{-\sum_{l_i < j \le r_i} \Delta_{ij}}\bigr)

with :math:`\eta_i` the static predictor of :mod:`.build` and
:math:`\Delta_{ij} = e^{\alpha_j} w_j e^{\eta_{ij}}` (:mod:`.tv_likelihood`).

``RecoveryModel(cohort)`` returns this class when the cohort has time-varying columns
(``Cohort.from_visits(..., time_varying=[...])``). Profile-based results
(:meth:`linear_predictor`, :meth:`recovery_curves` and the summaries built on them) hold
each time-varying column at the profile's *baseline* value for the whole follow-up (the
static regime "never switch"); other regimes: :mod:`footdrop_bayes.summaries.tv_regimes`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..errors import DataError
from .recovery_model import RecoveryModel
from .tv_likelihood import prepare_tv, tv_loglik_numpy


class TimeVaryingRecoveryModel(RecoveryModel):
    """Hierarchical recovery model with time-varying terms.

    Parameters
    ----------
    cohort : Cohort
        With ``time_varying`` columns.
    factors, covariates, group, model_config, sampler_config
        As :class:`~footdrop_bayes.RecoveryModel` (static terms).
    time_varying : sequence of str, optional
        Time-varying columns to model; default all of the cohort's.

    Attributes
    ----------
    time_varying : list of str
    idata : arviz.InferenceData
        As ``RecoveryModel``, plus ``log_hr_<v>`` (dims ``<v>``) per time-varying column.
    """

    def __init__(self, cohort, *, factors=None, covariates=None, group=None,
                 model_config=None, sampler_config=None, time_varying=None):
        super().__init__(cohort, factors=factors, covariates=covariates, group=group,
                         model_config=model_config, sampler_config=sampler_config)
        self.data = prepare_tv(cohort, self.factors, self.covariates, group,
                               time_varying=time_varying,
                               collapse=self.model_config["collapse"])
        self.time_varying = list(self.data.tv["names"])
        if not self.time_varying:
            raise DataError("no time-varying columns to model: use RecoveryModel")

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", time_varying={self.time_varying})"

    # --------------------------------------------------------------- likelihood
    def _tv_effects(self, post) -> list:
        return [post[f"log_hr_{n}"].values for n in self.time_varying]

    def _pattern_loglik_block(self, idx) -> np.ndarray:
        post = self.idata.posterior
        pat = self.data.patterns
        codes = {k: v[idx] for k, v in pat["codes"].items()}
        eta = RecoveryModel._eta(self, post, codes, pat["z"][idx])
        ll = tv_loglik_numpy(post["alpha"].values, eta, self._tv_effects(post),
                             [pat["tv"][n][idx] for n in self.time_varying],
                             self.data.widths, pat["l_idx"][idx], pat["r_idx"][idx],
                             pat["event"][idx])
        return ll.reshape(-1, len(idx)).T

    # --------------------------------------------------------------- profiles
    def _profiles(self, data):
        codes, z, index = super()._profiles(data)
        codes = dict(codes)
        source = self.cohort.covariates if data is None else data
        for n in self.time_varying:
            if n not in source.columns:
                raise DataError(f"data: missing column {n!r} (the baseline value of the "
                                "time-varying column, held for the whole follow-up)")
            lv = pd.Index([str(x) for x in self.data.tv["levels"][n]])
            code = lv.get_indexer(source[n].astype(str))
            if (code < 0).any():
                raise DataError(f"data: column {n!r} has values "
                                f"{sorted({str(x) for x in source[n][code < 0]})} that are "
                                f"not levels of the model ({list(lv)})")
            codes[f"tv:{n}"] = code
        return codes, z, index

    def _eta(self, post, codes, z) -> np.ndarray:
        eta = super()._eta(post, codes, z)
        for n in self.time_varying:
            if f"tv:{n}" in codes:
                eta = eta + post[f"log_hr_{n}"].values[..., codes[f"tv:{n}"]]
        return eta

    # --------------------------------------------------------------- persistence
    def _spec(self) -> dict:
        spec = super()._spec()
        spec["time_varying"] = json.dumps(self.time_varying)
        spec["lag"] = int(self.cohort.lag)
        spec["time_varying_levels"] = json.dumps(
            {n: [str(x) for x in self.cohort.time_varying_levels[n]]
             for n in self.time_varying})
        return spec
