//! Test helpers: a simulator on 127.0.0.1:0, a real CSTA client over TCP (csta's
//! MessageCodec), and an in-process HTTP client on the control router.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use csta::model as m;
use csta::types::DeviceId;
use csta::{InvokeId, InvokeIdAllocator, Message, MessageCodec};
use futures_util::{SinkExt, StreamExt};
use pbx_sim::{Options, Running, SimConfig};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;
use tower::ServiceExt;

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(5);

pub fn test_config() -> SimConfig {
    let mut c = SimConfig::demo();
    c.route_timeout_ms = 300;
    c
}

pub async fn start(config: SimConfig) -> Running {
    pbx_sim::start(
        config,
        Options {
            csta_addr: "127.0.0.1:0".parse().unwrap(),
            http_addr: "127.0.0.1:0".parse().unwrap(),
            edition: csta::Edition::Ed4,
            seed: 1,
            traffic: false,
        },
    )
    .await
    .unwrap()
}

/// A CSTA client (the relay's role).
pub struct Client {
    framed: Framed<TcpStream, MessageCodec>,
    ids: InvokeIdAllocator,
    /// Messages received while waiting for something else.
    pub backlog: std::collections::VecDeque<(InvokeId, Message)>,
    /// Frames received in total.
    pub received: usize,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        Self {
            framed: Framed::new(stream, MessageCodec::default()),
            ids: InvokeIdAllocator::default(),
            backlog: Default::default(),
            received: 0,
        }
    }

    /// Connects and starts an application session.
    pub async fn with_session(addr: SocketAddr) -> Self {
        let mut c = Self::connect(addr).await;
        let r = c
            .request(m::StartApplicationSession {
                requested_session_duration: Some(120),
                ..Default::default()
            })
            .await;
        assert_eq!(r.name(), "StartApplicationSessionPosResponse");
        c
    }

    pub async fn send(&mut self, msg: impl Into<Message>) -> InvokeId {
        let id = self.ids.next_id();
        self.send_as(id, msg).await;
        id
    }

    pub async fn send_as(&mut self, id: InvokeId, msg: impl Into<Message>) {
        self.framed.send((id, msg.into())).await.unwrap();
    }

    /// Next frame from the wire, or `None` on EOF. Panics after [`PATIENCE`].
    pub async fn read(&mut self) -> Option<(InvokeId, Message)> {
        let next = tokio::time::timeout(PATIENCE, self.framed.next())
            .await
            .expect("timed out waiting for a frame");
        match next {
            None => None,
            Some(Ok((id, d))) => {
                self.received += 1;
                Some((id, d.message))
            }
            Some(Err(e)) => panic!("stream error: {e}"),
        }
    }

    /// Next frame, backlog first.
    pub async fn next(&mut self) -> (InvokeId, Message) {
        if let Some(x) = self.backlog.pop_front() {
            return x;
        }
        self.read().await.expect("connection closed")
    }

    /// Sends a request and returns the message answering its invoke id; other frames go to
    /// the backlog.
    pub async fn request(&mut self, msg: impl Into<Message>) -> Message {
        let id = self.send(msg).await;
        loop {
            let (rid, m) = self.read().await.expect("connection closed");
            if rid == id {
                return m;
            }
            self.backlog.push_back((rid, m));
        }
    }

    /// The next `n` messages' names.
    pub async fn names(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(self.next().await.1.name().to_owned());
        }
        out
    }

    /// Reads until EOF (frames before it are returned).
    pub async fn until_eof(&mut self) -> Vec<(InvokeId, Message)> {
        let mut out: Vec<_> = self.backlog.drain(..).collect();
        while let Some(x) = self.read().await {
            out.push(x);
        }
        out
    }

    pub async fn monitor(&mut self, device: &str) -> String {
        match self
            .request(m::MonitorStart {
                monitor_object: Some(DeviceId::wrapped("deviceObject", device)),
                ..Default::default()
            })
            .await
        {
            Message::MonitorStartResponse(r) => r.monitor_cross_ref_id.unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }

    pub fn raw(&mut self) -> &mut TcpStream {
        self.framed.get_mut()
    }
}

/// Calls the control API in-process.
pub async fn http(run: &Running, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
    let router = pbx_sim::http::router(run.sim.clone());
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, v)
}

pub async fn post(run: &Running, uri: &str, body: &str) -> Value {
    let (status, v) = http(run, Method::POST, uri, body).await;
    assert!(status.is_success(), "{uri}: {status} {v}");
    v
}

pub async fn get(run: &Running, uri: &str) -> Value {
    let (status, v) = http(run, Method::GET, uri, "").await;
    assert!(status.is_success(), "{uri}: {status} {v}");
    v
}
