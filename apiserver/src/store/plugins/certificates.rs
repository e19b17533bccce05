//! kube's CertificateSigningRequest admission plugins (`plugin/pkg/admission/certificates`),
//! all validating:
//! - `CertificateApproval`: an update of `certificatesigningrequests/approval` needs the
//!   `approve` verb on `signers` in `certificates.k8s.io` for the request's `signerName` (or its
//!   `<domain>/*`), else 403 `user not permitted to approve requests with signerName "..."`;
//! - `CertificateSigning`: an update of `/status` that changes the certificate or the
//!   conditions needs `sign` on the signer, else 403 `user not permitted to sign ...`;
//! - `CertificateSubjectRestriction`: a new request for the `kubernetes.io/kube-apiserver-client`
//!   signer must not ask for the `system:masters` group (its subject's Organization).
//!
//! `ClusterTrustBundleAttest` is not here: ClusterTrustBundles are a beta API kube does not
//! serve by default, and neither does this server. Users in `system:masters` pass the authorizer
//! checks, as kube's privileged-group authorizer lets them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;

use super::{Write, forbidden};
use crate::admission::Operation;
use crate::auth::Attributes;
use crate::status::ApiError;
use crate::validation::certificates::pem_blocks;

const GROUP: &str = "certificates.k8s.io";
/// `certificatesv1.KubeAPIServerClientSignerName`.
const KUBE_APISERVER_CLIENT_SIGNER: &str = "kubernetes.io/kube-apiserver-client";
/// `user.SystemPrivilegedGroup`.
const MASTERS: &str = "system:masters";

/// The three plugins' `Validate`, on writes of CertificateSigningRequests.
pub(super) fn validate(w: &Write<'_>) -> Result<(), ApiError> {
    if w.info.group != GROUP || w.info.plural != "certificatesigningrequests" {
        return Ok(());
    }
    let Some(csr) = w.object else {
        return Ok(());
    };
    let signer = |obj: &Value| {
        obj.pointer("/spec/signerName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    match (w.operation, w.subresource) {
        (Operation::Update, "approval") => {
            let signer = signer(csr);
            if !authorized_for_signer(w, "approve", &signer) {
                return Err(forbidden(
                    w,
                    csr,
                    &format!(
                        "user not permitted to approve requests with signerName {}",
                        crd_schema::go_quote(&signer)
                    ),
                ));
            }
        }
        (Operation::Update, "status") => {
            let old = w.old_object.unwrap_or(csr);
            let unchanged = |f: &str| csr.pointer(f) == old.pointer(f);
            if unchanged("/status/certificate") && unchanged("/status/conditions") {
                return Ok(());
            }
            // The stored request's signer: the one the signer was asked by.
            let signer = signer(old);
            if !authorized_for_signer(w, "sign", &signer) {
                return Err(forbidden(
                    w,
                    csr,
                    &format!(
                        "user not permitted to sign requests with signerName {}",
                        crd_schema::go_quote(&signer)
                    ),
                ));
            }
        }
        (Operation::Create, "")
            if signer(csr) == KUBE_APISERVER_CLIENT_SIGNER && requests_masters(csr) =>
        {
            return Err(forbidden(
                w,
                csr,
                &format!(
                    "use of {KUBE_APISERVER_CLIENT_SIGNER} signer with {MASTERS} group is not allowed"
                ),
            ));
        }
        _ => {}
    }
    Ok(())
}

/// `IsAuthorizedForSignerName`: the verb on the signer by name, else on `<domain>/*`.
fn authorized_for_signer(w: &Write<'_>, verb: &str, signer: &str) -> bool {
    let Some(authz) = w.authorizer else {
        // No authorizer on the request: the server's own callers, allowed everything.
        return true;
    };
    let domain = signer.split('/').next().unwrap_or("");
    [signer.to_owned(), format!("{domain}/*")]
        .iter()
        .any(|name| {
            authz
                .authorize(&Attributes::resource(verb, GROUP, "signers", "", name))
                .0
        })
}

/// Whether the request's subject names `system:masters` as an Organization. Validation has
/// already refused a request that does not parse.
fn requests_masters(csr: &Value) -> bool {
    let pem = csr
        .pointer("/spec/request")
        .and_then(Value::as_str)
        .and_then(|b| BASE64.decode(b).ok())
        .unwrap_or_default();
    let Some(block) = pem_blocks(&pem).into_iter().next() else {
        return false;
    };
    let Ok((_, request)) = X509CertificationRequest::from_der(block.contents()) else {
        return false;
    };
    request
        .certification_request_info
        .subject
        .iter_organization()
        .any(|o| o.as_str().is_ok_and(|s| s == MASTERS))
}
