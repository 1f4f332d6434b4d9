"""The lab kit: the harness the tests and the benchmarks share, never shipped on the box.

``netlab`` builds labs of network namespaces (FRR topotests style: a node is a namespace with
its own daemon and control socket); ``frames`` sends and captures raw frames there; ``resolver``
and ``anycast`` are the resolver's labs; ``image/`` builds the disk image and boots it under
qemu. It imports ``appliance`` (downwards) and never ``tests`` or ``bench``; nothing in
``appliance`` imports it (tests/unit/test_layers.py checks all three).
"""
