"""Training of the shipped demo model (needs the optional ``train`` extra: torch on CPU).

Nothing outside this package imports it; the rest of edgemoe runs without torch.
"""
