"""Metric extraction: summaries and claim checks computed from result files.

One module per figure, importing only numpy and pandas, so the claims and plot rules start fast.
"""
