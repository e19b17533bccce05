//! Real PostgreSQL and Redis servers: they accept the URLs we hand out and nothing else, stop
//! and start again on the same port, and failures name the component and the log file.

mod common;

use std::net::{Ipv4Addr, TcpListener};

use redis::AsyncCommands;
use sqlx::Connection;
use testinfra::{Error, postgres, redis as tredis};

async fn pg_query(url: &str) -> Result<i32, sqlx::Error> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let (n,): (i32,) = sqlx::query_as("SELECT 41 + 1").fetch_one(&mut conn).await?;
    conn.close().await?;
    Ok(n)
}

#[tokio::test]
async fn postgres_serves_its_url_only_and_restarts_with_its_data() {
    let (_root, run) = common::run_dir();
    let mut pg = postgres::start(&run, postgres::Options::default()).unwrap();
    let url = pg.url();
    assert_eq!(pg_query(&url).await.unwrap(), 42);

    let wrong = url.replace(
        &url[url.find(':').unwrap() + 3..url.find('@').unwrap()],
        "postgres:wrong",
    );
    assert!(
        pg_query(&wrong).await.is_err(),
        "a wrong password must be refused"
    );

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE kept (v int)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO kept VALUES (7)")
        .execute(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let port = pg.port();
    pg.stop().unwrap();
    assert!(!pg.is_running());
    assert!(
        pg_query(&url).await.is_err(),
        "a stopped server must refuse connections"
    );
    pg.start().unwrap();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.url(), url);
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let (v,): (i32,) = sqlx::query_as("SELECT v FROM kept")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, 7, "data survives a restart");
}

#[tokio::test]
async fn redis_requires_its_password_and_restarts_on_its_port() {
    let (_root, run) = common::run_dir();
    let mut r = tredis::start(&run, tredis::Options::default()).unwrap();
    let url = r.url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = conn.set("k", "v").await.unwrap();
    let v: String = conn.get("k").await.unwrap();
    assert_eq!(v, "v");

    let anonymous = redis::Client::open(format!("redis://127.0.0.1:{}/0", r.port())).unwrap();
    let mut anon = anonymous.get_multiplexed_async_connection().await.unwrap();
    let denied: redis::RedisResult<String> = anon.get("k").await;
    assert!(
        denied.is_err(),
        "commands without the password must be refused"
    );

    let port = r.port();
    r.stop().unwrap();
    assert!(
        redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .is_err()
    );
    r.start().unwrap();
    assert_eq!(r.port(), port);
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let v: Option<String> = conn.get("k").await.unwrap();
    assert_eq!(v, None, "no persistence: a restart starts empty");
}

#[test]
fn a_taken_port_is_reported_with_the_log_file() {
    let (_root, run) = common::run_dir();
    let holder = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = holder.local_addr().unwrap().port();

    let err = tredis::start(
        &run,
        tredis::Options {
            port: Some(port),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::PortTaken { port: p, .. } if p == port),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "Redis: port {port} on 127.0.0.1 is already in use; see "
        )),
        "{msg}"
    );
    assert!(msg.ends_with("redis.log"), "{msg}");

    let err = postgres::start(
        &run,
        postgres::Options {
            port: Some(port),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::PortTaken { .. }), "{err}");
    assert!(err.to_string().contains("postgres.log"), "{err}");
}

#[test]
fn two_servers_in_one_run_do_not_collide() {
    let (_root, run) = common::run_dir();
    let a = postgres::start(
        &run,
        postgres::Options {
            name: "pg-a".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let b = postgres::start(
        &run,
        postgres::Options {
            name: "pg-b".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.url(), b.url());
    assert_ne!(a.log_path(), b.log_path());
}

#[test]
fn dropping_a_handle_stops_its_server() {
    let (_root, run) = common::run_dir();
    let r = tredis::start(&run, tredis::Options::default()).unwrap();
    let id = r.process().unwrap();
    assert!(id.is_alive());
    drop(r);
    assert!(!id.is_alive());
}

#[test]
fn a_readiness_timeout_names_the_component_and_the_log() {
    let (_root, run) = common::run_dir();
    // Nothing binds and answers within zero time: the deadline passes on the first probe.
    let opts = tredis::Options {
        ready_timeout: std::time::Duration::ZERO,
        ..Default::default()
    };
    let err = tredis::start(&run, opts).unwrap_err();
    assert!(matches!(err, Error::NotReady { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("Redis was not ready after 0ns; see "),
        "{msg}"
    );
    assert!(msg.contains("redis.log"), "{msg}");
    // The half-started server was stopped, not left behind.
    let left: Vec<_> = run
        .registered()
        .into_iter()
        .filter(|p| p.is_alive())
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
