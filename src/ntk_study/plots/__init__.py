"""Figures, one module per figure; every function reads result files and writes an image."""
