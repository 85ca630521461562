"""Shipped data (default image, trained weights) and the synthetic street-scene generator.

Import-light on purpose (numpy only): the generator runs on a PYNQ board too.
"""
