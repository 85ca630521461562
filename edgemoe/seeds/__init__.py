"""Offline algorithms that prepare models for the accelerator (host side, numpy/torch).

- :mod:`.kmeans`, :mod:`.a2ats`: query-aware vector-quantised keys (A2ATS) and top-k.
- :mod:`.quant`, :mod:`.salience`, :mod:`.precision_map`: MixLLM-style global mixed precision.
- :mod:`.turbo_vbi`, :mod:`.mrf`, :mod:`.pruning`: Turbo-VBI structured pruning and baselines.

None of these change an executor; they write files (codebooks, precision maps, pruned
weights) that the compiler can consume.
"""
