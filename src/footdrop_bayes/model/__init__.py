"""The hierarchical Bayesian recovery model (grouped-time proportional hazards)."""

from .blocks import block_diagnostics
from .priors import DEFAULT_MODEL_CONFIG, DEFAULT_SAMPLER_CONFIG
from .recovery_model import RecoveryModel

__all__ = ["DEFAULT_MODEL_CONFIG", "DEFAULT_SAMPLER_CONFIG", "RecoveryModel",
           "block_diagnostics"]
