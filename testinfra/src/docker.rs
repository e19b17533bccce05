//! The container provider: PostgreSQL and Redis from testcontainers-modules images.
//!
//! The containers must outlive the setup script, so their handles are leaked (a dropped
//! handle removes its container) and their ids registered for the run's supervisor, which
//! removes them with `docker rm -f` when the run ends.

use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::redis::Redis;
use testcontainers_modules::testcontainers::ImageExt;
use testcontainers_modules::testcontainers::runners::AsyncRunner;

use crate::error::{Error, Result};
use crate::run_dir::RunDir;
use crate::secret;

/// The ports the images listen on inside their containers.
const POSTGRES_PORT: u16 = 5432;
const REDIS_PORT: u16 = 6379;

/// Starts both containers; returns their URLs.
pub(crate) fn start(run: &RunDir) -> Result<(String, String)> {
    // The testcontainers client is async; run it on a private runtime in its own thread so
    // this works whether or not the caller is inside a tokio runtime.
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Docker {
                    component: "runtime",
                    message: e.to_string(),
                })?;
            rt.block_on(start_async(run))
        })
        .join()
        .unwrap_or_else(|_| {
            Err(Error::Docker {
                component: "runtime",
                message: "the container thread panicked".into(),
            })
        })
    })
}

async fn start_async(run: &RunDir) -> Result<(String, String)> {
    let pg_password = secret::random_secret();
    let pg = Postgres::default()
        .with_password(&pg_password)
        .start()
        .await
        .map_err(|e| Error::Docker {
            component: "PostgreSQL",
            message: e.to_string(),
        })?;
    run.register_container(pg.id())?;
    let pg_port = pg
        .get_host_port_ipv4(POSTGRES_PORT)
        .await
        .map_err(|e| Error::Docker {
            component: "PostgreSQL",
            message: e.to_string(),
        })?;
    let redis_password = secret::random_secret();
    let redis = Redis::default()
        .with_cmd([
            "redis-server",
            "--requirepass",
            redis_password.as_str(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .start()
        .await
        .map_err(|e| Error::Docker {
            component: "Redis",
            message: e.to_string(),
        })?;
    run.register_container(redis.id())?;
    let redis_port = redis
        .get_host_port_ipv4(REDIS_PORT)
        .await
        .map_err(|e| Error::Docker {
            component: "Redis",
            message: e.to_string(),
        })?;
    // Leak the handles: dropping them would remove the containers now.
    std::mem::forget(pg);
    std::mem::forget(redis);
    Ok((
        format!("postgres://postgres:{pg_password}@127.0.0.1:{pg_port}/postgres"),
        format!("redis://:{redis_password}@127.0.0.1:{redis_port}/0"),
    ))
}
