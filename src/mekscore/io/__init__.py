"""Input and output: readers, input checks and atomic writers."""

from .checks import InputError

__all__ = ["InputError"]
