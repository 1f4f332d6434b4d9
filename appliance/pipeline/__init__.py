"""The one change pipeline: validate → render → verify → apply → commit."""
