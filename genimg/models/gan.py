"""DCGAN and its class-conditional variant for 28x28 grayscale images.

One family, two configurations: `num_classes=0` is the plain DCGAN (Radford et al. 2016);
`num_classes>0` adds class-conditional batch norm in the generator and a projection
discriminator (Miyato & Koyama 2018) with an auxiliary classifier head (Odena et al. 2017). The discriminator uses spectral normalisation and the
training loop the hinge loss, the usual recipe for stable GAN training on small images.
"""
import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm whose scale and shift are looked up per class (plain affine BN when num_classes=0)."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.bn = nn.BatchNorm2d(channels, affine=num_classes == 0)
        if num_classes:
            self.gain = nn.Embedding(num_classes, channels)
            self.bias = nn.Embedding(num_classes, channels)
            nn.init.ones_(self.gain.weight)
            nn.init.zeros_(self.bias.weight)

    def forward(self, x, labels=None):
        """labels: class indices (N,), or class weights (N, num_classes) to mix classes (used to morph between them)."""
        x = self.bn(x)
        if self.num_classes:
            if labels.dtype.is_floating_point:
                gain, bias = labels @ self.gain.weight, labels @ self.bias.weight
            else:
                gain, bias = self.gain(labels), self.bias(labels)
            x = x * gain[:, :, None, None] + bias[:, :, None, None]
        return x


class Generator(nn.Module):
    """z (and a label) -> 1x28x28 image in [-1, 1]: 7x7 -> 14x14 -> 28x28 with transposed convolutions."""

    def __init__(self, z_dim: int = 64, width: int = 64, num_classes: int = 0):
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        c4, c2, c1 = 4 * width, 2 * width, width
        self.project = nn.Linear(z_dim, c4 * 7 * 7, bias=False)
        self.bn0 = ConditionalBatchNorm2d(c4, num_classes)
        self.up1 = nn.ConvTranspose2d(c4, c2, 4, stride=2, padding=1, bias=False)
        self.bn1 = ConditionalBatchNorm2d(c2, num_classes)
        self.up2 = nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1, bias=False)
        self.bn2 = ConditionalBatchNorm2d(c1, num_classes)
        self.to_image = nn.Conv2d(c1, 1, 3, padding=1)

    def forward(self, z, labels=None):
        x = self.project(z).view(z.shape[0], -1, 7, 7)
        x = torch.relu(self.bn0(x, labels))
        x = torch.relu(self.bn1(self.up1(x), labels))
        x = torch.relu(self.bn2(self.up2(x), labels))
        return torch.tanh(self.to_image(x))


class Discriminator(nn.Module):
    """1x28x28 image (and a label) -> realness score; spectral norm on every layer."""

    def __init__(self, width: int = 64, num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        act = nn.LeakyReLU(0.2)
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(1, width, 4, stride=2, padding=1)), act,              # 14x14
            spectral_norm(nn.Conv2d(width, 2 * width, 4, stride=2, padding=1)), act,      # 7x7
            spectral_norm(nn.Conv2d(2 * width, 4 * width, 3, padding=1)), act,
        )
        self.score = spectral_norm(nn.Linear(4 * width, 1))
        if num_classes:
            # Projection discriminator: score += <embed(label), features>.
            self.embed = spectral_norm(nn.Embedding(num_classes, 4 * width))
            # Auxiliary classifier (AC-GAN): learns the classes on real images; the generator is then also
            # rewarded when its image is recognised as the class it was asked for. Projection alone left
            # look-alike classes (shirt, pullover, coat) mixed.
            self.classify = nn.Linear(4 * width, num_classes)

    def forward(self, x, labels=None, with_class_logits=False):
        h = self.features(x).sum(dim=(2, 3))  # global sum pooling
        out = self.score(h).squeeze(1)
        if self.num_classes:
            out = out + (self.embed(labels) * h).sum(1)
            if with_class_logits:
                return out, self.classify(h)
        return out


def truncated_normal(shape, truncation: float | None, generator=None):
    """Standard normal samples; with `truncation`, values beyond +-truncation are redrawn (the truncation trick)."""
    z = torch.randn(shape, generator=generator)
    if truncation is None:
        return z
    for _ in range(100):
        outside = z.abs() > truncation
        if not outside.any():
            break
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
    return z.clamp_(-truncation, truncation)
