// The Engine target: see docs/ARCHITECTURE.md for its job.
