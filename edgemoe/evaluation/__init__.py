"""Accuracy of trained models on the synthetic scenes: metrics, `edgemoe eval`, demo figures.

``metrics`` is numpy only; ``evaluate`` compiles and runs the model on an executor;
``figure`` and ``showcase`` draw with matplotlib.
"""
