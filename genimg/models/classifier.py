"""A small CNN classifier for 28x28 grayscale images.

It labels samples in the app, and its penultimate layer is the feature space in which the
quality benchmark measures Fréchet distances (no Inception network is available offline).
"""
import torch
from torch import nn


class Classifier(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 32, feature_dim: int = 128):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *block(1, width), *block(width, width), nn.MaxPool2d(2),                  # 14x14
            *block(width, 2 * width), *block(2 * width, 2 * width), nn.MaxPool2d(2),  # 7x7
            nn.Flatten(), nn.Linear(2 * width * 49, feature_dim), nn.BatchNorm1d(feature_dim), nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x):
        """x in [0, 1] -> feature vectors (the penultimate layer)."""
        return self.body(x * 2 - 1)

    def forward(self, x):
        return self.head(self.dropout(self.features(x)))
