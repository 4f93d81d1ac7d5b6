"""Reusable pieces with good defaults; the stacks compose them."""
