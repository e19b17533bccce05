//! The tests' own calls to the HolmesGPT-API mock: where it is, what it received for a
//! remediation, and the release of a held investigation.

use std::time::Duration;

use hapi_mock::Requests;

/// The bound of a test's own call to the mock: a local answer takes milliseconds, and a
/// 2-core machine running 12 test processes can stall one for seconds.
const MOCK_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The shared (or this process's own) HolmesGPT-API mock; panics with how to run the suite
/// when it is missing under nextest.
pub fn hapi_url() -> String {
    match hapi_mock::url_for_tests() {
        Ok(url) => url,
        Err(e) => panic!("{e}"),
    }
}

/// `GET /mock/requests?remediation_id=<id>` on the mock.
pub async fn mock_requests(remediation_id: &str) -> Requests {
    let response = call(reqwest::Method::GET, "requests", remediation_id, 200).await;
    response.json().await.expect("a Requests body")
}

/// `POST /mock/release?remediation_id=<id>`: lets a `mock-held` analysis complete.
pub async fn release(remediation_id: &str) {
    call(reqwest::Method::POST, "release", remediation_id, 204).await;
}

/// `<method> /mock/<endpoint>?remediation_id=<id>`, which must answer `status`.
async fn call(
    method: reqwest::Method,
    endpoint: &str,
    remediation_id: &str,
    status: u16,
) -> reqwest::Response {
    let url = format!("{}/mock/{endpoint}", hapi_url());
    let response = test_http()
        .request(method, url)
        .query(&[("remediation_id", remediation_id)])
        .send()
        .await
        .unwrap_or_else(|e| panic!("the mock's {endpoint} endpoint: {e}"));
    assert_eq!(
        response.status().as_u16(),
        status,
        "the mock's {endpoint} endpoint"
    );
    response
}

/// An HTTP client for the tests' own calls to the mock: bounded, so a stalled mock fails the
/// test instead of hanging it.
fn test_http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(MOCK_HTTP_TIMEOUT)
        .build()
        .expect("an HTTP client without TLS builds")
}
