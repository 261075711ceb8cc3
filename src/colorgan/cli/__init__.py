"""Thin entry points: parse arguments, call the library, print one-line errors."""
