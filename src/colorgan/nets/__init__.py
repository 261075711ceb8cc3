"""Plain nn.Modules: generators and discriminators. They know nothing of Lightning or files."""

from colorgan.nets.patchgan import PatchDiscriminator
from colorgan.nets.unet import UNetGenerator

__all__ = ["PatchDiscriminator", "UNetGenerator"]
