"""Model families. Each checkpoint's card names a family and a config; `build` makes the module."""
from .classifier import Classifier
from .gan import Discriminator, Generator
from .inpaint import GatedUNet
from .sr import EDSR, ESPCN
from .style import StyleNetwork
from .vae import VAE

# family -> (constructor of the shipped module, default config, short description)
FAMILIES = {
    "dcgan": (Generator, {"z_dim": 64, "width": 32, "num_classes": 0},
              "DCGAN: a generator trained against a spectral-norm discriminator with the hinge loss"),
    "cgan": (Generator, {"z_dim": 64, "width": 32, "num_classes": 10},
             "Conditional GAN: class-conditional batch norm, projection discriminator with an auxiliary classifier"),
    "vae": (VAE, {"z_dim": 16, "width": 32}, "Convolutional VAE with a 16-D latent"),
    "vae2d": (VAE, {"z_dim": 2, "width": 32}, "Convolutional VAE with a 2-D latent (the manifold map)"),
    "classifier": (Classifier, {"num_classes": 10, "width": 32, "feature_dim": 128},
                   "CNN classifier: labels samples and gives the features for the quality metrics"),
    "espcn": (ESPCN, {"width": 48, "depth": 3, "scales": [2, 4]},
              "Fast super-resolution (ESPCN-style): a few convolutions and a sub-pixel head per scale"),
    "edsr": (EDSR, {"width": 64, "blocks": 8, "res_scale": 1.0, "scales": [2, 4]},
             "Quality super-resolution (EDSR-baseline-style residual network), a sub-pixel head per scale"),
    "inpaint": (GatedUNet, {"width": 24, "dilations": [2, 4, 8]},
                "Photo inpainting: a U-Net of gated convolutions (DeepFill v2-style), dilated in the bottleneck"),
    "style": (StyleNetwork, {"styles": ["style"], "width": 32, "blocks": 5, "body": 96},
              "Fast style transfer: Johnson et al.'s network with a conditional instance norm per preset"),
}


def full_config(family: str, config: dict | None = None) -> dict:
    """The family's defaults with `config` on top: every constructor argument `build` would pass."""
    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; known: {', '.join(FAMILIES)}.")
    defaults = FAMILIES[family][1]
    unknown = set(config or {}) - set(defaults)
    if unknown:
        raise ValueError(f"Config keys {sorted(unknown)} are not options of {family} ({sorted(defaults)}).")
    return {**defaults, **(config or {})}


def build(family: str, config: dict | None = None):
    arguments = full_config(family, config)  # checks the family and the keys first
    return FAMILIES[family][0](**arguments)
