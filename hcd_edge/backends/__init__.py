"""Inference backends, one folder each (compiler + executor), and the registry that maps a
backend name to its probe, compile and open functions."""
