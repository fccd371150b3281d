"""genimg: small image-generation models we train ourselves, and the API the app calls.

    import genimg
    genimg.models()
    genimg.generate("cgan-mnist", n=16, seed=3, label=7)
"""
__version__ = "0.2.0"

from .api import *  # noqa: E402,F401,F403  (the one export list is genimg.api.__all__)
from .api import __all__ as _api  # noqa: E402

__all__ = ["__version__", *_api]
