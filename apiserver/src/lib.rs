//! An embedded Kubernetes API server for tests: real HTTP on loopback, in-memory store, ready in milliseconds.
