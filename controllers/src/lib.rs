//! The kubernaut CRD controllers on kube-runtime, with metrics on a caller-supplied registry.
