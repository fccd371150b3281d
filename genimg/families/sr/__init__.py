"""Super-resolution: a fast (ESPCN-style) and a quality (EDSR-style) network, their trainer and recipes."""
from ...family import Family
from .network import EDSR, ESPCN
from .trainer import RECIPES, SRTrainer

FAMILIES = [
    Family("espcn", "upscaler", ESPCN, {"width": 48, "depth": 3, "scales": [2, 4]}, SRTrainer,
           label="Fast (ESPCN)", short_name="fast",
           description="Fast super-resolution (ESPCN-style): a few convolutions and a sub-pixel head per scale"),
    Family("edsr", "upscaler", EDSR, {"width": 64, "blocks": 8, "res_scale": 1.0, "scales": [2, 4]}, SRTrainer,
           label="Quality (EDSR)", short_name="quality",
           description="Quality super-resolution (EDSR-baseline-style residual network), a sub-pixel head per "
                       "scale"),
]
__all__ = ["FAMILIES", "RECIPES"]
