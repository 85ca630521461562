"""The kernel's m_axi ports: one per traffic class, grouped into as many bundles (AXI
masters, each on its own PS high-performance port) as the design point asks for.

Every port points into the same memory image (the host writes one base address into each
port's register); separate bundles let the weight loader, the activation reader and the
activation writer burst at the same time instead of taking turns on one master.
"""

from __future__ import annotations

__all__ = ["AXI_PORT_CHOICES", "PORTS", "PORT_CLASSES", "bundle_of", "bundles"]

#: HLS top-level pointer argument -> the traffic it carries, in signature order.
PORT_CLASSES: dict[str, str] = {
    "mem": "control: instructions, status and profile, index lists, expert queues",
    "wmem": "weights: linear/expert/router weights, biases, LayerNorm parameters",
    "xmem": "activations in: input rows, im2col taps, Q/K/V",
    "ymem": "activations out: output rows and the rows they accumulate onto",
}
#: The pointer arguments, in signature order.
PORTS: tuple[str, ...] = tuple(PORT_CLASSES)

#: bundle count -> port -> bundle name.  Fewer bundles share masters: weights keep their
#: own master first (the loader runs beside the token loop), then reads and writes split.
_BUNDLES: dict[int, dict[str, str]] = {
    1: {"mem": "mem", "wmem": "mem", "xmem": "mem", "ymem": "mem"},
    2: {"mem": "mem", "wmem": "wgt", "xmem": "mem", "ymem": "mem"},
    3: {"mem": "mem", "wmem": "wgt", "xmem": "act", "ymem": "act"},
    4: {"mem": "mem", "wmem": "wgt", "xmem": "xin", "ymem": "yout"},
}
#: Values ``axi_ports`` accepts in a design point.
AXI_PORT_CHOICES: tuple[int, ...] = tuple(_BUNDLES)


def bundle_of(port: str, n_bundles: int) -> str:
    """The m_axi bundle that carries ``port`` when the kernel has ``n_bundles`` masters.

    Raises:
        KeyError: ``port`` is not a kernel port or ``n_bundles`` is not a choice.
    """
    return _BUNDLES[n_bundles][port]


def bundles(n_bundles: int) -> tuple[str, ...]:
    """Bundle names in port order, each once (``("mem", "wgt", "xin", "yout")`` for 4)."""
    return tuple(dict.fromkeys(_BUNDLES[n_bundles][p] for p in PORTS))
