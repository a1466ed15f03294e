// The FlexAttention target: see docs/ARCHITECTURE.md for its job.
