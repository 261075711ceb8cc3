"""LightningModules: one base that owns what every colouriser shares, and the models built on it."""
