"""Labelled patch sets (folders, label CSVs, split lists), honest splits, and training-split overlap."""
