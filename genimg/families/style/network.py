"""Fast style transfer: one feed-forward network for several painting styles.

The architecture is Johnson et al.'s transformation network (2016): a wide convolution, stride-2
downsampling, residual blocks at quarter resolution, upsampling and a convolution back to RGB. Departures:

- Every normalisation is a *conditional instance norm* (Dumoulin et al. 2017): instance norm removes
  each feature map's mean and contrast, and a per-style scale (gamma) and shift (beta) put them back.
  The convolutions are shared by every style; a style is nothing more than its gammas and betas.
  So two styles blend by mixing their gammas and betas, and a blend weight of exactly 1 on one style
  gives exactly that style.
- Upsampling is resize then convolution, not a transposed convolution, whose uneven overlap paints
  checkerboard artefacts (Odena et al. 2016).
- For CPU speed the photo enters as space-to-depth (each 2x2 block of pixels becomes 12 channels,
  `pixel_unshuffle`): a 5x5 convolution at half resolution, then ONE stride-2 convolution to the residual
  blocks at quarter resolution (Johnson's place for them), one upsampling convolution back to half
  resolution, and only the last 3x3 convolution works at full resolution, after a bilinear enlargement.
  At full resolution Johnson's 9x9 convolutions and instance norms took ~2 s for 512x512 on this CPU.
- The blocks are 96 channels wide (`body`): at quarter resolution that is 2 numbers per photo value (96 /
  (4 x 4 x 3)), enough to carry the photo's detail. An earlier version put them at 1/8 resolution (128
  channels: 0.67 per value) and could not reproduce a photo's detail at all; it leaned on a skip connection
  that fed the photo straight to the last layer, and with that skip it learned only colour blotches.
- No skip from the photo, so training (training.StyleTrainer) first teaches the network to reproduce photos
  with a pixel loss, then paints.

`layout="full"` instead keeps Johnson's order: a 5x5 convolution on the photo at full resolution (width / 2
channels), two stride-2 convolutions down, the blocks, two resize-convolutions up (each at its new resolution) and
a 5x5 convolution to RGB at full resolution. No space-to-depth, no bilinear enlargement before a single 3x3 layer:
in the half layout those two let each pixel's place in its 2x2 block show through as a fine grid, which a harder
style weight made stronger (docs/history.md). Its extra full-resolution layers cost less than the space-to-depth
and the enlargement did (512x512: 0.34 s against 0.48 s, one style, two threads).

`norm="demodulated"` keeps instance norm only in the first layer, whose statistics are the photo's own, and
makes every later layer a demodulated convolution (`ModulatedConv`, StyleGAN2's fix for the same flaw): the
instance norms let the network steer a feature map's statistics by painting a strong local spike into it, and
the full layout did, as warm blobs in flat areas (docs/history.md).

A 512x512 photo takes about 0.3 s on a two-core CPU. Input RGB in [0, 1]; output RGB, clamped to [0, 1] in eval
mode (training sees it unclamped, so a pixel pushed past the range still gets a gradient back).
"""
import torch
from torch import nn
from torch.nn import functional as F


class ConditionalInstanceNorm(nn.Module):
    """Instance norm with a gamma and beta per style; `style_weights` (N, styles) mixes them per image."""

    def __init__(self, channels: int, num_styles: int):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(num_styles, channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, channels))

    def forward(self, x, style_weights):
        gamma = (style_weights @ self.gamma)[:, :, None, None]
        beta = (style_weights @ self.beta)[:, :, None, None]
        return F.instance_norm(x) * gamma + beta


class ConvNorm(nn.Module):
    """Reflection padding (no dark borders), convolution, conditional instance norm, optional ReLU."""

    def __init__(self, in_channels, out_channels, kernel, num_styles, stride=1, upsample=False, relu=True):
        super().__init__()
        self.upsample, self.relu = upsample, relu
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride)
        self.norm = ConditionalInstanceNorm(out_channels, num_styles)

    def forward(self, x, style_weights):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.norm(self.conv(self.pad(x)), style_weights)
        return torch.relu(x) if self.relu else x


class ModulatedConv(nn.Module):
    """A convolution whose input channels a per-style scale (gamma) weighs, demodulated (Karras et al. 2020,
    StyleGAN2), plus a per-style shift (beta); optional ReLU. A drop-in for ConvNorm with no instance norm.

    Demodulation divides each output channel by the norm its weights have after the style's scaling, so an input
    of unit variance gives an output of about unit variance: the scale control instance norm gave, computed from
    the weights rather than from the image. An instance norm's statistics come from the image, and a network
    can steer them by painting a strong, local spike into a feature map: the "droplets" StyleGAN2 traced to
    instance norm, which the full layout painted as warm blobs. Here nothing the network paints changes a scale.

    conv(x * gamma, w) * demodulation equals a convolution with the modulated weights (StyleGAN2's non-fused
    form), and one shared convolution serves a batch that mixes styles."""

    def __init__(self, in_channels, out_channels, kernel, num_styles, stride=1, upsample=False, relu=True):
        super().__init__()
        self.upsample, self.relu = upsample, relu
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, bias=False)
        self.gamma = nn.Parameter(torch.ones(num_styles, in_channels))
        self.beta = nn.Parameter(torch.zeros(num_styles, out_channels))

    def forward(self, x, style_weights):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        gamma = style_weights @ self.gamma  # (N, in)
        weight_energy = self.conv.weight.pow(2).sum(dim=(2, 3))  # (out, in)
        demodulation = torch.rsqrt(gamma.pow(2) @ weight_energy.T + 1e-8)  # (N, out)
        x = self.conv(self.pad(x * gamma[:, :, None, None])) * demodulation[:, :, None, None]
        x = x + (style_weights @ self.beta)[:, :, None, None]
        return torch.relu(x) if self.relu else x


class ResidualBlock(nn.Module):
    def __init__(self, channels, num_styles, layer=ConvNorm):
        super().__init__()
        self.first = layer(channels, channels, 3, num_styles)
        self.second = layer(channels, channels, 3, num_styles, relu=False)
        # Instance norm resets the scale at every layer; with demodulation a sum of two unit-variance signals
        # would double the variance at each block, so the sum is scaled back to unit variance (as in StyleGAN2).
        self.scale = 1.0 if layer is ConvNorm else 2 ** -0.5

    def forward(self, x, style_weights):
        return (x + self.second(self.first(x, style_weights), style_weights)) * self.scale


class StyleNetwork(nn.Module):
    """Photo + style weights -> the photo painted in that mix of styles."""

    LAYOUTS = ("half", "full")
    NORMS = ("instance", "demodulated")

    def __init__(self, styles=("style",), width: int = 32, blocks: int = 5, body: int = 96, layout: str = "half",
                 norm: str = "instance"):
        super().__init__()
        if layout not in self.LAYOUTS:
            raise ValueError(f"Unknown layout {layout!r}; the layouts are {', '.join(self.LAYOUTS)}.")
        if norm not in self.NORMS:
            raise ValueError(f"Unknown norm {norm!r}; the norms are {', '.join(self.NORMS)}.")
        self.styles, self.layout = list(styles), layout
        self.config = {"styles": self.styles, "width": width, "blocks": blocks, "body": body, "layout": layout,
                       "norm": norm}
        n = len(self.styles)
        # The first layer always keeps its instance norm: its statistics are the photo's own (a linear function of
        # it, nothing the network can paint into), and normalising them makes a dim and a bright photo paint alike.
        layer = ConvNorm if norm == "instance" else ModulatedConv
        if layout == "half":
            # Half resolution: the photo as space-to-depth (12 channels), a 5x5 convolution (10x10 pixels of the
            # photo, about Johnson's 9x9); quarter resolution: one stride-2 convolution and the residual blocks.
            self.down = nn.ModuleList([ConvNorm(3 * 4, width, 5, n), layer(width, body, 3, n, stride=2)])
            self.up = nn.ModuleList([layer(body, width, 3, n, upsample=True)])  # back to half resolution
            self.to_rgb = nn.Conv2d(width, 3, 3)  # at full resolution, after a bilinear enlargement
        else:
            # Full resolution `width` // 2 channels, half resolution `width`, quarter resolution `body`.
            full = width // 2
            self.down = nn.ModuleList([ConvNorm(3, full, 5, n), layer(full, width, 3, n, stride=2),
                                       layer(width, body, 3, n, stride=2)])
            self.up = nn.ModuleList([layer(body, width, 3, n, upsample=True),
                                     layer(width, full, 3, n, upsample=True)])
            self.to_rgb = nn.Conv2d(full, 3, 5)
        self.blocks = nn.ModuleList([ResidualBlock(body, n, layer) for _ in range(blocks)])

    @property
    def num_styles(self) -> int:
        return len(self.styles)

    def one_hot(self, style_index: torch.Tensor) -> torch.Tensor:
        """Style indices (N,) -> style weights (N, styles) for a single style each."""
        return F.one_hot(style_index, self.num_styles).float()

    def forward(self, x, style_weights):
        """x: (N, 3, H, W) in [0, 1]; style_weights: (N, styles), rows summing to 1 for a blend.

        H and W are padded up to a multiple of 4 (space-to-depth and one stride-2 step) and to at least 16 (the
        5x5 layer's reflection padding needs 3 pixels at half resolution); the output is cropped back."""
        h, w = x.shape[-2:]
        pad_h, pad_w = max(16, h + -h % 4) - h, max(16, w + -w % 4) - w
        if pad_h or pad_w:  # mirror the photo's edge; a tiny one has too few pixels to mirror: repeat them
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if pad_h < h and pad_w < w else "replicate")
        y = x * 2 - 1
        if self.layout == "half":
            y = F.pixel_unshuffle(y, 2)
        for layer in self.down:
            y = layer(y, style_weights)
        for block in self.blocks:
            y = block(y, style_weights)
        for layer in self.up:
            y = layer(y, style_weights)
        if self.layout == "half":
            # Bilinear: a nearest-neighbour enlargement repeats each value in a 2x2 block, which one 3x3 layer only
            # partly smooths (the previous network, nearest, showed a fine grid in flat areas).
            y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        edge = self.to_rgb.kernel_size[0] // 2
        out = (0.5 + self.to_rgb(F.pad(y, (edge,) * 4, mode="reflect")))[..., :h, :w]
        return out if self.training else out.clamp(0, 1)
