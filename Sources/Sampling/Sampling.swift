// The Sampling target: see docs/ARCHITECTURE.md for its job.
