"""BIRD access for every part of the box: one control client (pexpect), one lean query,
one parser of its replies."""
