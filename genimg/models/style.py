"""Fast style transfer: one feed-forward network for several painting styles.

The architecture is Johnson et al.'s transformation network (2016): a 9x9 convolution, two stride-2
downsampling convolutions, residual blocks at quarter resolution, two upsampling steps and a 9x9
convolution back to RGB. Two departures, both from later work:

- Every normalisation is a *conditional instance norm* (Dumoulin et al. 2017): instance norm removes
  each feature map's mean and contrast, and a per-style scale (gamma) and shift (beta) put them back.
  The convolutions are shared by every style; a style is nothing more than its gammas and betas.
  So two styles blend by mixing their gammas and betas, and a blend weight of exactly 1 on one style
  gives exactly that style.
- Upsampling is nearest-neighbour resize then convolution, not a transposed convolution, whose uneven
  overlap paints checkerboard artefacts (Odena et al. 2016).
- For CPU speed the network body runs at half resolution: the photo enters as space-to-depth (each 2x2
  block of pixels becomes 12 channels, `pixel_unshuffle`), and only the last 3x3 convolution works at full
  resolution. Every other layer touches 4x fewer positions; at full resolution the 9x9 convolutions and the
  instance norms took ~2 s for 512x512 on this CPU.
- That last convolution also sees the photo itself (a skip connection), starting as the identity on it.
  Instance norm throws away every feature map's mean and contrast, so without the skip a fresh network
  outputs noise and must first relearn the photo's shapes from normalised features (300 steps still gave
  an unrecognisable cat); with it the photo is there from step one and training only adds the painting.
  The painted part is still direct output, not a change relative to the photo: a network that could only
  add a change to each pixel could not even find a global colour change towards the painting's palette.

The widths are Johnson's (32-64-128, `width` 32); with the half-resolution body a 512x512 photo takes about a
quarter of a second on a two-core CPU. Input RGB in [0, 1]; output RGB, clamped to [0, 1] in eval mode
(training sees it unclamped, so a pixel pushed past the range still gets a gradient back).
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


class ResidualBlock(nn.Module):
    def __init__(self, channels, num_styles):
        super().__init__()
        self.first = ConvNorm(channels, channels, 3, num_styles)
        self.second = ConvNorm(channels, channels, 3, num_styles, relu=False)

    def forward(self, x, style_weights):
        return x + self.second(self.first(x, style_weights), style_weights)


class StyleNetwork(nn.Module):
    """Photo + style weights -> the photo painted in that mix of styles."""

    def __init__(self, styles=("style",), width: int = 16, blocks: int = 5):
        super().__init__()
        self.styles = list(styles)
        self.config = {"styles": self.styles, "width": width, "blocks": blocks}
        n = len(self.styles)
        self.down = nn.ModuleList([ConvNorm(3 * 4, width, 9, n), ConvNorm(width, 2 * width, 3, n, stride=2),
                                   ConvNorm(2 * width, 4 * width, 3, n, stride=2)])
        self.blocks = nn.ModuleList([ResidualBlock(4 * width, n) for _ in range(blocks)])
        self.up = nn.ModuleList([ConvNorm(4 * width, 2 * width, 3, n, upsample=True),
                                 ConvNorm(2 * width, width, 3, n, upsample=True)])
        # The last layer: the painted features (upsampled to full resolution) and the photo -> RGB.
        self.to_rgb = nn.Conv2d(width + 3, 3, 3)
        with torch.no_grad():  # start as the identity on the photo's channels (centre tap), the painting on top
            self.to_rgb.weight[:, width:] = 0
            self.to_rgb.weight[:, width:, 1, 1] = torch.eye(3)
            self.to_rgb.bias.zero_()

    @property
    def num_styles(self) -> int:
        return len(self.styles)

    def one_hot(self, style_index: torch.Tensor) -> torch.Tensor:
        """Style indices (N,) -> style weights (N, styles) for a single style each."""
        return F.one_hot(style_index, self.num_styles).float()

    def forward(self, x, style_weights):
        """x: (N, 3, H, W) in [0, 1]; style_weights: (N, styles), rows summing to 1 for a blend.

        H and W are padded up to a multiple of 8 (space-to-depth and two stride-2 steps) and to at least 32 (the
        9x9 layer's reflection padding needs 5 pixels at half resolution); the output is cropped back."""
        h, w = x.shape[-2:]
        pad_h, pad_w = max(32, h + -h % 8) - h, max(32, w + -w % 8) - w
        if pad_h or pad_w:  # mirror the photo's edge; a tiny one has too few pixels to mirror: repeat them
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect" if pad_h < h and pad_w < w else "replicate")
        y = F.pixel_unshuffle(x * 2 - 1, 2)
        for layer in self.down:
            y = layer(y, style_weights)
        for block in self.blocks:
            y = block(y, style_weights)
        for layer in self.up:
            y = layer(y, style_weights)
        y = torch.cat([F.interpolate(y, scale_factor=2, mode="nearest"), x - 0.5], 1)
        out = (0.5 + self.to_rgb(F.pad(y, (1, 1, 1, 1), mode="reflect")))[..., :h, :w]
        return out if self.training else out.clamp(0, 1)
