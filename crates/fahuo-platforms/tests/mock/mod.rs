//! A scripted HTTP server on loopback for request-shape tests: records every request and answers
//! each path from a queue (the last answer repeats).
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: String,
}

impl Seen {
    /// The body's form fields, percent-decoded.
    pub fn form(&self) -> HashMap<String, String> {
        form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

/// Per path, the answers still to give: `(status, body)`.
type Script = HashMap<String, VecDeque<(u16, String)>>;

#[derive(Clone, Default)]
struct Shared {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Mutex<Script>>,
}

pub struct Mock {
    pub base: String,
    shared: Shared,
}

async fn handle(
    State(st): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let path = uri.path().to_string();
    st.seen.lock().unwrap().push(Seen {
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().unwrap_or_default().to_string(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let mut script = st.script.lock().unwrap();
    let Some(q) = script.get_mut(&path) else {
        return (StatusCode::NOT_FOUND, format!("no script for {path}"));
    };
    let (status, body) = if q.len() > 1 {
        q.pop_front().unwrap()
    } else {
        q.front().cloned().unwrap()
    };
    (StatusCode::from_u16(status).unwrap(), body)
}

impl Mock {
    pub async fn start() -> Mock {
        let shared = Shared::default();
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        Mock {
            base: format!("http://{addr}"),
            shared,
        }
    }

    /// Answers for `path`, in order; the last one repeats.
    pub fn script(&self, path: &str, answers: &[(u16, &str)]) {
        self.shared.script.lock().unwrap().insert(
            path.to_string(),
            answers.iter().map(|(s, b)| (*s, b.to_string())).collect(),
        );
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    pub fn seen_at(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }

    pub fn clear(&self) {
        self.shared.seen.lock().unwrap().clear();
    }
}

/// Fast options: two attempts, tiny backoff.
pub fn options() -> fahuo_platforms::ClientOptions {
    fahuo_platforms::ClientOptions {
        timeout: std::time::Duration::from_secs(2),
        max_attempts: 2,
        rate_per_sec: 0.0,
        backoff_base: std::time::Duration::from_millis(5),
        backoff_max: std::time::Duration::from_millis(20),
        ..fahuo_platforms::ClientOptions::default()
    }
}
