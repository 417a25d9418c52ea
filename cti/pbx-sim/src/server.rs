//! CSTA XML over TCP: one task pair per client (reader feeds the PBX, writer drains the
//! client's queue). A frame with an undecodable payload gets a CSTAErrorCode under its invoke
//! id; a framing error (the stream cannot be resynchronised) closes that connection. Neither
//! affects other clients.

use csta::model::CstaErrorCode;
use csta::types::ErrorCategory;
use csta::{CodecConfig, Edition, FrameCodec, Message, MessageCodec};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

use crate::pbx::ClientCmd;
use crate::Sim;

/// Accepts CSTA clients until `shutdown`.
pub async fn serve(listener: TcpListener, sim: Sim, edition: Edition, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let sim = sim.clone();
                let stop = shutdown.clone();
                tokio::spawn(async move {
                    connection(stream, peer.to_string(), sim, edition, stop).await;
                });
            }
            Err(e) => tracing::warn!(error = %e, "accept failed"),
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: String,
    sim: Sim,
    edition: Edition,
    shutdown: CancellationToken,
) {
    let id = sim.next_client_id();
    let codec = MessageCodec::new(CodecConfig {
        edition,
        xml_declaration: false,
    });
    // Frames are read with the bare FrameCodec and decoded here: a bad payload must not end
    // the stream (a `Framed` stream stops after its decoder's first error).
    let (read, write) = stream.into_split();
    let mut frames = FramedRead::new(read, FrameCodec::new());
    let mut sink = FramedWrite::new(write, codec);
    let (tx, mut rx) = mpsc::unbounded_channel::<ClientCmd>();
    tracing::info!(client = id, %peer, "CSTA client connected");
    sim.with(|p| p.client_connected(id, peer.clone(), tx));
    let closed = CancellationToken::new();
    let writer_closed = closed.clone();
    let writer = tokio::spawn(async move {
        while let Some(cmd) = rx.recv().await {
            match cmd {
                ClientCmd::Send(invoke_id, msg) => {
                    if let Err(e) = sink.send((invoke_id, *msg)).await {
                        tracing::warn!(client = id, error = %e, "write failed");
                        break;
                    }
                }
                ClientCmd::Close => {
                    tracing::info!(client = id, "closing CSTA link");
                    break;
                }
            }
        }
        let _ = sink.close().await;
        writer_closed.cancel();
    });
    loop {
        let next = tokio::select! {
            () = closed.cancelled() => break,
            () = shutdown.cancelled() => break,
            n = frames.next() => n,
        };
        match next {
            None => break,
            Some(Ok(f)) => {
                let invoke_id = f.frame.invoke_id;
                match csta::decode(&f.frame.xml) {
                    Ok(decoded) => {
                        tracing::debug!(client = id, %invoke_id, message = decoded.message.name(), "received");
                        sim.with(|p| p.on_message(id, invoke_id, decoded.message));
                    }
                    Err(source) => {
                        tracing::warn!(client = id, offset = f.offset, %invoke_id, error = %source, "undecodable CSTA payload");
                        let err = Message::CstaErrorCode(CstaErrorCode {
                            category: ErrorCategory::Operation,
                            value: "generic".into(),
                        });
                        sim.with(|p| p.reply(id, invoke_id, err));
                    }
                }
            }
            Some(Err(e)) => {
                tracing::warn!(client = id, error = %e, "CSTA stream error, closing connection");
                break;
            }
        }
    }
    sim.with(|p| p.client_gone(id));
    let _ = writer.await;
}
