// The PagedKVCache target: see docs/ARCHITECTURE.md for its job.
