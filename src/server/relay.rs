//! The byte relay between a client connection and the child process that
//! runs its session (`bincimap up` after login, and privilege-separated
//! sessions in `serve`). The relay stays in front so that TLS, if any, is
//! done by the process that holds the certificate, not by the user's.
//!
//! The session is over when the child closes its side; a client that closes
//! first gets its EOF passed on so the child can finish.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Chunk size, as Binc's relay.
const CHUNK: usize = 8192;

/// Copies until EOF or an error; returns whether it ended cleanly.
async fn pump<R, W>(r: &mut R, w: &mut W) -> bool
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) => return true,
            Ok(n) => n,
            Err(_) => return false,
        };
        let Some(chunk) = buf.get(..n) else {
            return false;
        };
        if w.write_all(chunk).await.is_err() || w.flush().await.is_err() {
            return false;
        }
    }
}

/// Relays between `client` and `child` until the child's side closes.
/// `to_child` is client input already read (pipelined after the login);
/// `to_client` is child output already read (the tagged OK).
pub async fn relay<C, S>(client: C, child: S, to_child: Vec<u8>, to_client: Vec<u8>)
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut cr, mut cw) = tokio::io::split(client);
    let (mut sr, mut sw) = tokio::io::split(child);
    let down = async {
        if cw.write_all(&to_client).await.is_ok() && cw.flush().await.is_ok() {
            pump(&mut sr, &mut cw).await;
        }
        let _ = cw.shutdown().await;
    };
    let up = async {
        if sw.write_all(&to_child).await.is_ok() {
            pump(&mut cr, &mut sw).await;
        }
        // The client is gone: let the child see EOF and end the session.
        let _ = sw.shutdown().await;
    };
    tokio::pin!(down);
    tokio::pin!(up);
    tokio::select! {
        _ = &mut down => {}
        _ = &mut up => { down.await; }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn relays_both_ways_and_ends_with_the_child() {
        let (client_outer, client_inner) = tokio::io::duplex(64);
        let (child_outer, mut child_inner) = tokio::io::duplex(64);
        let task = tokio::spawn(relay(
            client_inner,
            child_outer,
            b"pending ".to_vec(),
            b"a1 OK\r\n".to_vec(),
        ));
        let (mut cr, mut cw) = tokio::io::split(client_outer);
        let mut got = vec![0u8; 7];
        cr.read_exact(&mut got).await.unwrap();
        assert_eq!(got, b"a1 OK\r\n");
        cw.write_all(b"a2 NOOP\r\n").await.unwrap();
        let mut seen = vec![0u8; 17];
        child_inner.read_exact(&mut seen).await.unwrap();
        assert_eq!(seen, b"pending a2 NOOP\r\n");
        child_inner.write_all(b"* BYE\r\n").await.unwrap();
        drop(child_inner);
        task.await.unwrap();
        let mut rest = Vec::new();
        cr.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"* BYE\r\n");
    }

    #[tokio::test]
    async fn client_eof_reaches_the_child() {
        let (client_outer, client_inner) = tokio::io::duplex(64);
        let (child_outer, mut child_inner) = tokio::io::duplex(64);
        let task = tokio::spawn(relay(client_inner, child_outer, Vec::new(), Vec::new()));
        drop(client_outer);
        let mut rest = Vec::new();
        child_inner.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
        drop(child_inner);
        task.await.unwrap();
    }
}
