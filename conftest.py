"""Root conftest: import the tool namespace before pytest collects ``src/mekscore`` doctests.

With ``--import-mode=importlib``, collecting ``src/mekscore/tl/score.py`` before anything
imported ``mekscore.tl`` would bind the module, not the function, to ``mekscore.tl.score``.
"""

import mekscore.tl  # noqa: F401
