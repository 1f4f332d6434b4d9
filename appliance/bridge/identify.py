"""Make a NIC's port light blink (ethtool's identify), so that a volunteer finds the cable.

A box has several identical RJ45 or SFP ports and the member form names them ``enp3s0f1``:
``ethtool --identify`` makes the chosen port's LED blink for a while, the way every switch's
"locate" button does. Only real NICs whose driver supports it can; a virtual one (the lab's
veth) says so, and the caller shows that sentence.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

from appliance.platform.target import Target

SECONDS = 15
# A Linux interface name (IFNAMSIZ - 1), nothing an option parser could take for a flag.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@:-]{0,14}")


class IdentifyError(RuntimeError):
    """The port cannot blink; the message says why in words."""


def identify(name: str, target: Target, *, seconds: int = SECONDS) -> None:
    """Blink ``name``'s port light for ``seconds`` (returns at once; ethtool stops by itself).

    Raises ``IdentifyError`` when there is no such NIC, no ethtool, or the driver refuses.
    """
    if not _NAME.fullmatch(name):
        raise IdentifyError(f"{name!r} is not a network interface name")
    from appliance.bridge.inventory import collect

    if name not in {n.name for n in collect(target)}:
        raise IdentifyError(f"this box has no NIC named {name}")
    tool = shutil.which("ethtool") or shutil.which("ethtool", path="/usr/sbin:/sbin")
    if tool is None:
        raise IdentifyError("ethtool is not installed (Debian package ethtool)")
    argv = [tool, "--identify", name, str(seconds)]
    proc = subprocess.Popen(target.command(argv),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        code = proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        # Blinking: reap ethtool when it ends, without holding up the request.
        threading.Thread(target=_reap, args=(proc,), daemon=True).start()
        return
    said = (proc.stderr.read() if proc.stderr else "").strip()
    if code != 0:
        raise IdentifyError(f"{name} cannot blink its light: {said or f'ethtool exit {code}'}")


def _reap(proc: subprocess.Popen[str]) -> None:
    proc.communicate()
