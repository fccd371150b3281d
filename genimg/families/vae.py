"""Convolutional variational autoencoder (Kingma & Welling 2014) for 28x28 grayscale images (and, in the training
lab, 28 or 32 px in grey or colour).

With `z_dim=2` the latent space is a plane, and decoding a grid of points on it draws the
"manifold map" the app shows. This room: the network, its loss, its trainer, its recipes and family records.
"""
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from .. import data as datasets
from ..family import Family, Trainer
from ..training import SAMPLE_SEED, digit_batches


class VAE(nn.Module):
    def __init__(self, z_dim: int = 16, width: int = 32, channels: int = 1, side: int = 28):
        super().__init__()
        self.z_dim, self.start = z_dim, side // 4
        self.config = {"z_dim": z_dim, "width": width, "channels": channels, "side": side}
        cells = self.start ** 2
        self.encoder = nn.Sequential(
            nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),       # 14x14
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1), nn.LeakyReLU(0.2),      # 7x7
            nn.Flatten(), nn.Linear(2 * width * cells, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 2 * z_dim),
        )
        self.decoder_in = nn.Sequential(nn.Linear(z_dim, 256), nn.ReLU(), nn.Linear(256, 2 * width * cells),
                                        nn.ReLU())
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1), nn.ReLU(),     # 14x14
            nn.ConvTranspose2d(width, channels, 4, stride=2, padding=1),                 # 28x28 logits
        )
        self.width = width

    def encode(self, x):
        """x in [0, 1] -> (mean, log variance) of q(z|x)."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-12, 8)

    def decode_logits(self, z):
        return self.decoder(self.decoder_in(z).view(z.shape[0], 2 * self.width, self.start, self.start))

    def decode(self, z):
        """z -> image in [0, 1] (the Bernoulli means)."""
        return torch.sigmoid(self.decode_logits(z))

    def sample(self, z, labels=None):
        """Latent codes -> images in [0, 1]: what every generator offers the API (a VAE takes no labels)."""
        return self.decode(z)

    def forward(self, x):
        mean, logvar = self.encode(x)
        z = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        return self.decode_logits(z), mean, logvar


def vae_loss(logits, x, mean, logvar):
    """Negative ELBO per image: Bernoulli reconstruction term + KL(q(z|x) || N(0, I))."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / x.shape[0]
    kl = -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp()) / x.shape[0]
    return reconstruction + kl, reconstruction, kl


class VAETrainer(Trainer):
    load_data = staticmethod(digit_batches)

    def __init__(self, recipe, family, data_set, device, world):
        super().__init__(recipe, family, data_set, device, world)
        spec = recipe
        self.model = family.build(spec.get("config")).to(device)  # the training lab's runs bring a config
        self.net = DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizers = {"opt": torch.optim.Adam(self.model.parameters(), spec["lr"], betas=spec["betas"])}
        self.modules = {"model": self.model}

    def step(self, x, labels, autocast):
        x = x.to(self.device)
        with autocast:
            logits, mean, logvar = self.net(x)
            loss, reconstruction, kl = vae_loss(logits.float(), x, mean.float(), logvar.float())
        opt = self.optimizers["opt"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"loss": loss.item(), "recon": reconstruction.item(), "kl": kl.item()}

    @torch.no_grad()
    def samples(self):
        n = self.sample_count
        g = torch.Generator().manual_seed(SAMPLE_SEED)
        self.model.eval()
        images = self.model.decode(torch.randn(n, self.model.z_dim, generator=g).to(self.device))
        self.model.train()
        return images

    @torch.no_grad()
    def evaluate(self, dataset):
        self.model.eval()
        total = 0.0
        for chunk in datasets.to_float(dataset.test_images).split(1000):
            x = chunk.to(self.device)
            mean, logvar = self.model.encode(x)
            total += vae_loss(self.model.decode_logits(mean + 0 * logvar), x, mean, logvar)[0].item() * len(x)
        self.model.train()
        return {"test_neg_elbo_nats": round(total / len(dataset.test_images), 2)}


RECIPES = {
    "vae": dict(family="vae", steps=4000, batch_size=128, lr=1e-3, betas=(0.9, 0.999)),
    "vae2d": dict(family="vae2d", steps=4000, batch_size=128, lr=1e-3, betas=(0.9, 0.999)),
}

FAMILIES = [
    Family("vae", "generator", VAE, {"z_dim": 16, "width": 32, "channels": 1, "side": 28}, VAETrainer, label="VAE",
           latent_knob="temperature", description="Convolutional VAE with a 16-D latent"),
    Family("vae2d", "generator", VAE, {"z_dim": 2, "width": 32, "channels": 1, "side": 28}, VAETrainer, label="VAE (2-D latent)",
           latent_knob="temperature", latent_map=True,
           description="Convolutional VAE with a 2-D latent (the manifold map)"),
]
