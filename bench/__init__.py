"""Benchmarks, run by `make bench`. Every scenario measures a baseline in the same run and
reports ratios, which survive a noisy machine better than absolute figures."""
