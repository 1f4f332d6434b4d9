"""The box's own management plane: host name, management addresses, DNS, NTP, time zone."""
