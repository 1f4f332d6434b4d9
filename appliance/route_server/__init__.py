"""The BIRD 2 route server: policy data, control client and the pipeline concern."""
