"""The disk image under qemu: build or reuse it (``vm``), boot it and set it up (``boot``),
the member on its peering-LAN NIC and the browser (``journey``), firmware updates
(``firmware``)."""
