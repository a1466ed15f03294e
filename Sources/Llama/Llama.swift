// The Llama target: see docs/ARCHITECTURE.md for its job.
