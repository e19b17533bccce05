//! Owns how a process hosting API servers hands freed memory back to the system.
//!
//! The store keeps large objects (up to [`crate::MAX_OBJECT_BYTES`]) and bounds its watch history
//! in bytes, so after large objects are deleted their memory is free, but glibc's allocator does
//! not return it: its mmap threshold rises to the size of the largest block freed, after which
//! blocks that large come from the arenas and stay there (measured: RSS 246 MiB after 100 × 1 MiB
//! objects were created and deleted, from a 25 MiB start). A fixed threshold of 128 KiB (glibc's
//! own starting value) keeps such blocks mapped, so freeing them unmaps them. mimalloc as the
//! global allocator was tried instead and rejected (its purge delay kept the RSS at 405 MiB and it
//! doubled the start RSS). `tests/memory.rs` checks the result.

use std::sync::Once;

/// glibc's default starting mmap threshold (128 KiB), made fixed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD_BYTES: libc::c_int = 128 * 1024;

/// The environment variable by which a user sets the threshold themselves (glibc's tunable):
/// when it is set, the user's choice stands.
const USER_TUNABLE: &str = "MALLOC_MMAP_THRESHOLD_";

static ONCE: Once = Once::new();

/// Makes glibc return freed large blocks to the system (a fixed mmap threshold), once per
/// process, unless the user set `MALLOC_MMAP_THRESHOLD_`. Does nothing on other C libraries.
///
/// The library never calls it by itself: an allocator setting belongs to the process, so its
/// host decides. The `apiserver` binary and the `fixtures` crate (the test processes) call it.
pub fn return_freed_memory() {
    ONCE.call_once(|| {
        if std::env::var_os(USER_TUNABLE).is_some() {
            return;
        }
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            // SAFETY: mallopt only sets an allocator parameter; glibc serialises it against
            // concurrent allocation. It returns 0 on a bad parameter, which this one is not.
            #[allow(unsafe_code)]
            let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) };
            if ok == 0 {
                tracing::warn!(
                    "mallopt(M_MMAP_THRESHOLD) was refused: freed large objects may stay in the \
                     process's memory; set {USER_TUNABLE}=131072 in the environment instead"
                );
            }
        }
    });
}
