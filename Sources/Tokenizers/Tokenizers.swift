// The Tokenizers target: see docs/ARCHITECTURE.md for its job.
