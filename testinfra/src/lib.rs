//! Starts and supervises the shared test infrastructure (PostgreSQL, Redis) from local binaries, external URLs or containers.
