"""The export folder's file names: what colorgan-export writes, a hub repository holds and every loader reads."""

EXPORT_CONFIG = "config.json"  # class, hyperparameters and contract of the model
EXPORT_WEIGHTS = "generator.safetensors"  # the generator's weights, spectral norm folded
