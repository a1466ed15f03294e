// The Kernels target: see docs/ARCHITECTURE.md for its job.
