"""Pair selection from past closes: FDR-controlled, out-of-sample checked, one coin per spread."""
