"""Colourising film: videos of any length, shot by shot, with their sound, colours held still along optical flow.

- io: PyAV decoding and encoding, exact rates and timestamps, rotation, audio copied packet for packet;
- shots: the timeline and its cuts (PySceneDetect);
- temporal: DIS optical flow on lightness and ab carried along it;
- track: hints that follow the flow;
- mixed: frames already in colour;
- job: the resumable job that ties them together;
- data, metrics: colour videos as evaluation data and the temporal measures (CDC, E_warp(DIS)); colorgan.evaluate scores them.
"""

from colorgan.video.io import VIDEO_SUFFIXES
from colorgan.video.job import VideoOptions, colorize_video

__all__ = ["VIDEO_SUFFIXES", "VideoOptions", "colorize_video"]
