"""The members' DNS resolver (unbound with an RFC 8806 local root) and the anycast helper."""
