//! Strategies of Jobs and CronJobs (`pkg/registry/batch/*/strategy.go`): generation kept, an
//! empty status to start with.

use super::strategy::{Generic, empty_status};

pub(super) static JOB: Generic = Generic {
    generation: true,
    status: empty_status,
};

pub(super) static CRON_JOB: Generic = Generic {
    generation: true,
    status: empty_status,
};
