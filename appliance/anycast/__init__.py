"""The anycast helper: a service prefix announced through the route server only while the
service answers (health checks, the announcing links, the pipeline concern)."""
