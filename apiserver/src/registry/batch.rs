//! Strategies of Jobs and CronJobs (`pkg/registry/batch/*/strategy.go`): generation kept, an
//! empty status to start with, and the Job spec warnings (`super::warnings`).

use super::strategy::{Generic, empty_status};
use super::warnings::{self, Warned};

pub(super) static JOB: Warned = Warned {
    base: Generic {
        generation: true,
        status: empty_status,
    },
    create: warnings::job_create,
    update: warnings::job_update,
    pod_spec: Some("/spec/template/spec"),
};

pub(super) static CRON_JOB: Warned = Warned {
    base: Generic {
        generation: true,
        status: empty_status,
    },
    create: warnings::cron_job_create,
    update: warnings::cron_job_update,
    pod_spec: Some("/spec/jobTemplate/spec/template/spec"),
};
