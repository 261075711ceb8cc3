"""The web app: one offline page and a small JSON/PNG API around a Colorizer."""
