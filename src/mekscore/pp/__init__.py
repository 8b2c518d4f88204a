"""Preprocessing: the normalisation mekscore applies to raw counts (``mk.pp``)."""

from ._normalize import LOG_CP10K, log_normalize

__all__ = ["LOG_CP10K", "log_normalize"]
