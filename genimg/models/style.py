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
- For CPU speed the whole network runs at half resolution: the photo enters as space-to-depth
  (each 2x2 block of pixels becomes 12 channels, `pixel_unshuffle`) and the change it paints is upsampled
  bilinearly onto the full-resolution photo. Every layer then touches 4x fewer positions; at full
  resolution the 9x9 convolutions and the instance norms took ~2 s for 512x512 on this CPU.

The widths are smaller than Johnson's (32-64-128) so a 512x512 photo takes well under a second on a
two-core CPU. Input and output are RGB in [0, 1].
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
        self.pad = nn.ReflectionPad2d(4)
        self.to_rgb = nn.Conv2d(width, 3, 9)
        nn.init.zeros_(self.to_rgb.weight)
        nn.init.zeros_(self.to_rgb.bias)

    @property
    def num_styles(self) -> int:
        return len(self.styles)

    def one_hot(self, style_index: torch.Tensor) -> torch.Tensor:
        """Style indices (N,) -> style weights (N, styles) for a single style each."""
        return F.one_hot(style_index, self.num_styles).float()

    def forward(self, x, style_weights, return_logits=False):
        """x: (N, 3, H, W) in [0, 1]; style_weights: (N, styles), rows summing to 1 for a blend.
        return_logits: also return the output's logits (training keeps them out of the sigmoid's flat tails).

        H and W are padded up to a multiple of 8 (space-to-depth and two stride-2 steps) and to at least 32 (the
        9x9 layers' reflection padding needs 5 pixels at half resolution); the output is cropped back."""
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
        # The network paints a change to the photo's logits, at half resolution, upsampled smoothly (a sub-pixel
        # output painted a 2x2 dot grid early in training, which the edge-tuned VGG features amplify).
        # sigmoid(logit(photo) + change) is always a valid image, and with the last layer starting at zero an
        # untrained network returns the photo itself: training only has to learn the painting, as Gatys does.
        change = F.interpolate(self.to_rgb(self.pad(y)), scale_factor=2, mode="bilinear")
        logits = (torch.logit(x.clamp(0.01, 0.99)) + change)[..., :h, :w]
        return (torch.sigmoid(logits), logits) if return_logits else torch.sigmoid(logits)
