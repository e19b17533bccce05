//! Audit event model shared by DataStorage and its clients, and the buffered per-process audit store.
