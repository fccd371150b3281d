"""Single-image super-resolution networks: an RGB image in, the same image x2 or x4 larger out.

Two networks, one recipe:

- Every convolution runs on the small input; the last layer is a *sub-pixel convolution* (ESPCN,
  Shi et al. 2016): it makes 3 * scale^2 channels, and PixelShuffle rearranges each pixel's
  scale x scale block of values into a scale-times larger image. Working at low resolution makes
  the network scale^2 times cheaper than one that first enlarges the image.
- They learn the *residual*: the output is bicubic upscaling plus what the network adds (as VDSR,
  Kim et al. 2016). The last layer starts at zero, so an untrained network is exactly bicubic and
  training spends itself on the detail bicubic misses (edges, texture), a small, mostly-zero signal.
- One body serves both scales; each scale has its own sub-pixel head (as EDSR's multi-scale MDSR,
  Lim et al. 2017), so one training run makes the x2 and the x4 model.

ESPCN: three convolutions of a few dozen channels (tens of thousands of parameters): the fast model.
EDSR: EDSR-baseline's residual blocks (conv-ReLU-conv plus a skip, no batch norm, which hurts SR), 64
      channels wide. The quality model is EDSR-baseline's 16 blocks, grown (`deepen`) from a trained 8-block
      one, because 16 blocks trained from scratch need more steps than a 2-core CPU gives.
Inputs and outputs are in [0, 1]; outputs are not clamped (the caller clamps when it quantises).
"""
import torch
from torch import nn
from torch.nn import functional as F


class SubPixelHeads(nn.Module):
    """One sub-pixel convolution per scale: features -> 3 s^2 channels -> PixelShuffle(s) -> RGB s times larger."""

    def __init__(self, channels: int, scales):
        super().__init__()
        self.convs = nn.ModuleDict({f"x{s}": nn.Conv2d(channels, 3 * s * s, 3, padding=1) for s in scales})
        for conv in self.convs.values():  # start as plain bicubic (see the module docstring)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, features, scale: int):
        return F.pixel_shuffle(self.convs[f"x{scale}"](features), scale)


def bicubic_upscale(x, scale: int):
    """The base the residual is added to (PyTorch's bicubic; the network learns whatever differs)."""
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)


class SuperResolution(nn.Module):
    """What both networks share: scale checks, the residual output, and the receptive field for tiling."""

    scales: tuple
    # How many views of the input the answer averages (see upscaling.network_output): 1, the plain network.
    inference_views = 1

    def check_scale(self, scale: int):
        if scale not in self.scales:
            raise ValueError(f"this network upscales by {', '.join(f'x{s}' for s in self.scales)}, not x{scale}")

    def forward(self, x, scale: int):
        """x: (N, 3, h, w) in [0, 1] -> (N, 3, h*scale, w*scale)."""
        self.check_scale(scale)
        return bicubic_upscale(x, scale) + self.heads(self.features(x), scale)

    @property
    def receptive_radius(self) -> int:
        """How many input pixels on each side can change an output pixel: tiles overlap by this much."""
        radius = 0
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                radius += (m.kernel_size[0] - 1) // 2 * m.dilation[0]
        # Every head's conv was counted, but only one runs; add 2 for the bicubic base's own reach.
        return radius - (len(self.scales) - 1) + 2


class ESPCN(SuperResolution):
    """The fast model: a 5x5 feature layer, a few 3x3 layers, then the per-scale sub-pixel heads."""

    def __init__(self, width: int = 48, depth: int = 3, scales=(2, 4)):
        super().__init__()
        self.scales = tuple(scales)
        self.config = {"width": width, "depth": depth, "scales": list(self.scales)}
        layers = [nn.Conv2d(3, width, 5, padding=2), nn.PReLU(width)]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.PReLU(width)]
        self.features = nn.Sequential(*layers)
        self.heads = SubPixelHeads(width, self.scales)


class ResidualBlock(nn.Module):
    """EDSR's block: conv-ReLU-conv added to its input (no batch norm: it flattens the contrast SR must keep)."""

    def __init__(self, channels: int, res_scale: float):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.res_scale * self.conv2(torch.relu(self.conv1(x)))


class EDSRBody(nn.Module):
    """Head conv, residual blocks, a closing conv, and a long skip around the blocks."""

    def __init__(self, width: int, blocks: int, res_scale: float):
        super().__init__()
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.Sequential(*[ResidualBlock(width, res_scale) for _ in range(blocks)])
        self.close = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        h = self.head(x * 2 - 1)  # centre the input: the plain stand-in for EDSR's mean subtraction
        return h + self.close(self.blocks(h))


class EDSR(SuperResolution):
    """The quality model: EDSR-baseline's structure (64 channels and 16 blocks there; smaller here for the CPU)."""
    # Its answer averages the photo and its diagonal reflection (EDSR's self-ensemble, 2 of its 8 views): Kodak24
    # +0.05 dB at x4 over one view (README, Upscaling); bfloat16 where the CPU has it pays for the second pass.
    inference_views = 2

    def __init__(self, width: int = 64, blocks: int = 8, res_scale: float = 1.0, scales=(2, 4)):
        super().__init__()
        self.scales = tuple(scales)
        self.config = {"width": width, "blocks": blocks, "res_scale": res_scale, "scales": list(self.scales)}
        self.features = EDSRBody(width, blocks, res_scale)
        self.heads = SubPixelHeads(width, self.scales)


def deepen(shallow: EDSR, blocks: int) -> EDSR:
    """A deeper EDSR that starts out computing exactly what `shallow` computes, to train on from there.

    `shallow`'s blocks keep their weights, spread evenly through the deeper stack; each new block's second
    convolution starts at zero, so the block passes its input through unchanged (x + 0) until training gives it
    something to add. Training then only has to find what the extra depth can add, not relearn the rest.
    """
    old_blocks = len(shallow.features.blocks)
    if blocks < old_blocks:
        raise ValueError(f"deepen makes a network deeper: {blocks} blocks is fewer than the {old_blocks} it has")
    deep = EDSR(width=shallow.config["width"], blocks=blocks, res_scale=shallow.config["res_scale"],
                scales=shallow.scales)
    state = {k: v for k, v in shallow.state_dict().items() if not k.startswith("features.blocks.")}
    kept = {round(i * blocks / old_blocks): i for i in range(old_blocks)}  # new position -> old block
    for position, block in enumerate(deep.features.blocks):
        if position in kept:
            old = shallow.features.blocks[kept[position]].state_dict()
            state.update({f"features.blocks.{position}.{k}": v for k, v in old.items()})
        else:
            nn.init.zeros_(block.conv2.weight)
            nn.init.zeros_(block.conv2.bias)
            state.update({f"features.blocks.{position}.{k}": v for k, v in block.state_dict().items()})
    deep.load_state_dict(state)
    return deep
