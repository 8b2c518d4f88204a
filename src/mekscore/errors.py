"""The errors mekscore raises for bad input: one module, importable without the numerical stack.

Both are ``ValueError`` subclasses. The command line maps them to one ``error:`` line and
exit code 2; any other exception is a bug (exit 1).
"""


class InputError(ValueError):
    """Input data or options that cannot be used as given; the message says how to fix it."""


class SignatureError(ValueError):
    """A signature definition (library YAML, GMT file, custom dict) is malformed."""


__all__ = ["InputError", "SignatureError"]
