"""Convolutional variational autoencoder (Kingma & Welling 2014) for 28x28 grayscale images.

With `z_dim=2` the latent space is a plane, and decoding a grid of points on it draws the
"manifold map" the app shows.
"""
import torch
from torch import nn
from torch.nn import functional as F


class VAE(nn.Module):
    def __init__(self, z_dim: int = 16, width: int = 32):
        super().__init__()
        self.z_dim = z_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),              # 14x14
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),      # 7x7
            nn.Flatten(), nn.Linear(2 * width * 49, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 2 * z_dim),
        )
        self.decoder_in = nn.Sequential(nn.Linear(z_dim, 256), nn.ReLU(), nn.Linear(256, 2 * width * 49), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(),     # 14x14
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),                        # 28x28 logits
        )
        self.width = width

    def encode(self, x):
        """x in [0, 1] -> (mean, log variance) of q(z|x)."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-12, 8)

    def decode_logits(self, z):
        return self.decoder(self.decoder_in(z).view(z.shape[0], 2 * self.width, 7, 7))

    def decode(self, z):
        """z -> image in [0, 1] (the Bernoulli means)."""
        return torch.sigmoid(self.decode_logits(z))

    def forward(self, x):
        mean, logvar = self.encode(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return self.decode_logits(z), mean, logvar


def vae_loss(logits, x, mean, logvar):
    """Negative ELBO per image: Bernoulli reconstruction term + KL(q(z|x) || N(0, I))."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp()) / x.shape[0]
    return reconstruction + kl, reconstruction, kl
