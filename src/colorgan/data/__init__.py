"""Data: writing LAB-ready WebDataset shards, the bundled sets, and the streaming datamodule."""
