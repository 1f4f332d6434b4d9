"""Alerts: rules evaluated by the collector each round, kept in the state directory, and sent
by e-mail, webhook, syslog and SNMP notifications (docs/alerts.md)."""
