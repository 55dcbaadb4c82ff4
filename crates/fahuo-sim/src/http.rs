//! A minimal HTTP/1.1 client over hyper for pushes to loopback receivers (and for tests).
//! Only `http://` URLs: webhooks in tests and the demo stay on this machine.

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;

/// Sends one request and returns (status, body). Errors are transport errors as text.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported: {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fut = async {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", authority);
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| "timeout".to_string())?
}

pub async fn post_json(
    url: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<(u16, String), String> {
    let mut h = vec![("content-type".to_string(), "application/json".to_string())];
    h.extend_from_slice(headers);
    request(
        "POST",
        url,
        &h,
        body.as_bytes().to_vec(),
        Duration::from_secs(30),
    )
    .await
}

pub async fn get(url: &str) -> Result<(u16, String), String> {
    request("GET", url, &[], Vec::new(), Duration::from_secs(30)).await
}
