//! Where an acceptor listens: every interface of both families without `SocketAcceptHost`,
//! and a host name resolved when the engine starts.

mod common;

use std::net::{Ipv6Addr, TcpListener, TcpStream};

use common::free_port;
use common::recorder::Recorder;
use fixring::Engine;
use fixring::core::ErrorCode;
use fixring::core::config::Settings;

fn acceptor(port: u16, host: Option<&str>) -> Settings {
    let host = host.map_or_else(String::new, |h| format!("SocketAcceptHost={h}\n"));
    let text = format!(
        "[DEFAULT]\nTransport=epoll\nConnectionType=acceptor\nBeginString=FIX.4.4\n\
         SenderCompID=ACC\nSocketAcceptPort={port}\n{host}[SESSION]\nTargetCompID=INIT\n"
    );
    Settings::parse(&text, None).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn without_an_accept_host_both_families_are_accepted() {
    let port = free_port();
    let mut engine = Engine::new(acceptor(port, None), Recorder::new());
    engine.start().unwrap_or_else(|e| panic!("{e}"));
    let addrs = engine.listen_addrs();
    assert_eq!(addrs.len(), 1);
    assert!(addrs[0].ip().is_unspecified(), "{addrs:?}");
    TcpStream::connect(("127.0.0.1", port)).expect("IPv4 accepted");
    // Where the machine has IPv6, the listener is a dual-stack `[::]`.
    if TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
        assert!(addrs[0].is_ipv6(), "{addrs:?}");
        TcpStream::connect((Ipv6Addr::LOCALHOST, port)).expect("IPv6 accepted");
    }
}

#[test]
fn an_accept_host_name_is_resolved_at_start() {
    let port = free_port();
    let mut engine = Engine::new(acceptor(port, Some("localhost")), Recorder::new());
    engine.start().unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.listen_addrs()[0].ip().is_loopback());

    let mut engine = Engine::new(
        acceptor(free_port(), Some("no-such-host.invalid")),
        Recorder::new(),
    );
    let error = engine.start().expect_err("the name does not resolve");
    assert_eq!(error.code(), ErrorCode::ConfigError);
    assert!(error.to_string().contains("SocketAcceptHost"), "{error}");
}
