"""VGG16 features for perceptual and style losses (training) and for optimisation-based style transfer (run time).

The weights are never shipped in checkpoints/. They come, in order, from:
  1. a path given by the caller (train.py --vgg-weights, app.py --vgg-weights),
  2. the GENIMG_VGG_WEIGHTS environment variable,
  3. torchvision's ImageNet VGG16, downloaded once into torch's hub cache where the network allows it.
A safetensors file needs the keys of torchvision's `vgg16().features` (`features.0.weight` ...);
`../shared/weights/vgg16_features.safetensors` is one. Loading never unpickles.
"""
import os
from pathlib import Path

import torch
from torch import nn

ENV_VAR = "GENIMG_VGG_WEIGHTS"
TORCHVISION_URL = "https://download.pytorch.org/models/vgg16-397923af.pth"
# torchvision's vgg16().features: indices of the ReLUs whose outputs the losses use.
LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# VGG16's feature layers up to conv4_3: output channels of each 3x3 convolution, "M" a 2x2 max-pool.
_VGG16_PLAN = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)


def vgg16_features(count: int) -> nn.Sequential:
    """The first `count` modules of torchvision's `vgg16().features` (same indices, so the same state-dict keys),
    untrained. Built here rather than through torchvision, whose vgg16() also initialises the 120-million-parameter
    classifier: a second per network, on every app start and in every test that builds one."""
    layers, channels = [], 3
    for item in _VGG16_PLAN:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=True)]
            channels = item
    if not 0 < count <= len(layers):
        raise ValueError(f"VGG16's features up to conv4_3 have {len(layers)} modules, not {count}.")
    return nn.Sequential(*layers[:count])


class VGGUnavailable(ValueError):
    """No VGG16 weights could be found or downloaded."""


class VGGFeatures(nn.Module):
    """VGG16's convolutional layers up to relu4_3. Input: RGB in [0, 1]; output: {layer name: activation}."""

    def __init__(self):
        super().__init__()
        self.features = vgg16_features(LAYERS["relu4_3"] + 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x, layers=tuple(LAYERS)):
        last = max(LAYERS[name] for name in layers)
        wanted = {LAYERS[name]: name for name in layers}
        out = {}
        x = (x - self.mean) / self.std
        for i, layer in enumerate(self.features[:last + 1]):
            x = layer(x)
            if i in wanted:
                out[wanted[i]] = x
        return out


def load_vgg(path: str | Path | None = None, download: bool = True) -> VGGFeatures:
    """VGG16 features from `path`, $GENIMG_VGG_WEIGHTS or torchvision's download; VGGUnavailable if none works."""
    tried = []
    for source in (path, os.environ.get(ENV_VAR)):
        if source:
            return _from_file(Path(source))
    tried.append(f"no path given and ${ENV_VAR} is not set")
    if download:
        try:
            state = torch.hub.load_state_dict_from_url(TORCHVISION_URL, progress=False, weights_only=True)
            return _from_state({k: v for k, v in state.items() if k.startswith("features.")}, TORCHVISION_URL)
        except Exception as error:  # no network, a proxy, a full disk: all mean the same to the user
            tried.append(f"downloading torchvision's ImageNet VGG16 failed ({type(error).__name__}: {error})")
    else:
        tried.append("downloading was not allowed")
    raise VGGUnavailable("VGG16 weights are not available: " + "; ".join(tried) + ". Give a safetensors file with "
                         f"torchvision's vgg16().features keys through --vgg-weights PATH or ${ENV_VAR}.")


def _from_file(path: Path) -> VGGFeatures:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    if not path.is_file():
        raise VGGUnavailable(f"VGG16 weights file {path} does not exist.")
    if path.suffix != ".safetensors":
        raise VGGUnavailable(f"VGG16 weights must be a .safetensors file (never a pickle), not {path.name}.")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise VGGUnavailable(f"VGG16 weights file {path} cannot be read: {error}") from None
    return _from_state(state, str(path))


def _from_state(state: dict, source: str) -> VGGFeatures:
    model = VGGFeatures()
    wanted = model.features.state_dict()
    state = {k[len("features."):]: v.float() for k, v in state.items() if k.startswith("features.")}
    state = {k: v for k, v in state.items() if k in wanted}
    missing = sorted(set(wanted) - set(state), key=lambda k: int(k.split(".")[0]))
    if missing:
        raise VGGUnavailable(f"VGG16 weights from {source} lack {', '.join('features.' + k for k in missing)}.")
    try:
        model.features.load_state_dict(state)
    except RuntimeError as error:
        raise VGGUnavailable(f"VGG16 weights from {source} do not fit VGG16: {error}") from None
    model.source = source
    return model


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Channel correlations (batch, C, C), normalised by the number of positions and channels: the 'style'."""
    b, c, h, w = features.shape
    with torch.autocast(features.device.type, enabled=False):  # a sum over every position: float32 even under bf16
        flat = features.reshape(b, c, h * w).float()
        return flat @ flat.transpose(1, 2) / (c * h * w)

