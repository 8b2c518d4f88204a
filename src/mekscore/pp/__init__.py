"""Preprocessing (``mk.pp``): the normalisation of raw counts, and pseudobulk sums."""

from ._normalize import LOG_CP10K, log_normalize
from ._pseudobulk import pseudobulk

__all__ = ["LOG_CP10K", "log_normalize", "pseudobulk"]
