//! Time to ready: spawn idpd, poll `/readyz` over plain TCP every 2 ms.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

#[derive(clap::Args)]
pub struct Args {
    /// The public listener to poll, e.g. 127.0.0.1:18080
    #[arg(long)]
    addr: SocketAddr,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// The command to start
    #[arg(trailing_var_arg = true, required = true)]
    cmd: Vec<String>,
}

fn ready(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(100)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut child = Command::new(&a.cmd[0])
        .args(&a.cmd[1..])
        .stdin(Stdio::null())
        // Our stdout is the caller's $(...): the child must not hold it open.
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", a.cmd[0]))?;
    let deadline = start + Duration::from_secs(a.timeout);
    while !ready(a.addr) {
        if let Some(status) = child.try_wait()? {
            bail!("{} exited before it was ready: {status}", a.cmd[0]);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("not ready after {} s", a.timeout);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    println!("{} {}", start.elapsed().as_millis(), child.id());
    Ok(())
}
