"""Photo inpainting: a gated-convolution U-Net, how it fills real photos (fill.py), its trainer and stages."""
from ...family import Family
from .network import GatedUNet
from .trainer import RECIPES, InpaintTrainer

FAMILIES = [
    Family("inpaint", "inpainter", GatedUNet, {"width": 24, "dilations": [2, 4, 8]}, InpaintTrainer,
           label="Photo network", short_name="photo",
           description="Photo inpainting: a U-Net of gated convolutions (DeepFill v2-style), dilated in the "
                       "bottleneck"),
]
__all__ = ["FAMILIES", "RECIPES"]
