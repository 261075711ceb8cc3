"""colorgan: colourise black-and-white photographs with GANs."""

__version__ = "0.1.0"
