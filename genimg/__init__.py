"""genimg: small image-generation models we train ourselves, and the API the app calls.

    import genimg
    genimg.models()
    genimg.generate("cgan-mnist", n=16, seed=3, label=7)
"""
__version__ = "0.1.0"

from .api import (classify, find, generate, interpolate, load, manifold, models,  # noqa: E402
                  set_checkpoint_dir)
from .api import measure_upscale, upscale, upscale_bicubic  # noqa: E402
from .api import inpaint  # noqa: E402
from .api import set_vgg_weights, styles, stylize, stylize_with_image  # noqa: E402
from .checkpoints import CheckpointError  # noqa: E402

__all__ = ["models", "load", "find", "generate", "interpolate", "manifold", "classify", "set_checkpoint_dir",
           "CheckpointError", "__version__", "upscale", "upscale_bicubic", "measure_upscale", "inpaint",
           "stylize", "styles", "stylize_with_image", "set_vgg_weights"]
