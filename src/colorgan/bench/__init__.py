"""Benchmarks: throughput, latency and memory figures of the data pipeline, training, inference and video,
as the dicts `colorgan-bench` prints as JSON (experiments/benchmarks/)."""

from __future__ import annotations

from collections.abc import Sequence

from omegaconf import DictConfig

from colorgan.config import compose


def train_config(overrides: Sequence[str]) -> DictConfig:
    """The colorgan-train config for these overrides (no Hydra run directory involved)."""
    return compose("train", ["paths.output_dir=.", *overrides])
