// The GGUF target: see docs/ARCHITECTURE.md for its job.
