//! The audit REST service: axum + PostgreSQL (sqlx) + Redis dead-letter queue.
