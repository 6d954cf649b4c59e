"""Classifiers of the kernel tables and the selection protocol they share."""
