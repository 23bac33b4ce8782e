//! Fuzz target: arbitrary bytes as a client stream -> Framer -> parser.
//! Must never panic and must always reach end of input.
#![no_main]

use bincimap::imap::parser::{parse_command, Framer, FramerLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let limits = FramerLimits {
            max_line: 1024,
            max_literal: 4096,
            max_mem_literal: 4096,
        };
        let mut f = Framer::new(data, limits);
        let mut out = tokio::io::sink();
        for _ in 0..=data.len() + 1 {
            match f.read_command(&mut out, None).await {
                Ok(None) => return,
                Ok(Some(raw)) => {
                    let _ = parse_command(raw);
                }
                Err(e) if e.is_fatal() => return,
                Err(_) => {}
            }
        }
        panic!("framer made no progress");
    });
});
