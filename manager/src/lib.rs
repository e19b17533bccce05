//! Runs kube-runtime controllers together: one client, shared shutdown, readiness when every watch has synced, atomic status writes.
