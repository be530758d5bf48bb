"""hcd-edge: edge inference runtime for metastatic-tumour detection in 96x96 H&E patches."""

__version__ = "0.1.0"
