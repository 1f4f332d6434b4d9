"""Small helpers shared by several concerns."""
